import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import {
  book, commitUsage, insertAggregatedMeter, insertCustomer, insertWallet, units, usageEventRow, waitUntilBlocked, type TestMeter, type TestWallet,
} from '../support/sql-rows.js';

/**
 * alert_evaluate (src/db/functions/alert_evaluate.sql, with alert_level and alert_json) called
 * directly: definitions and the values they watch are rows inserted here, and each call's alerts,
 * alert_state and webhook deliveries are read back. The meters of each aggregation are watched
 * through events committed with usage_commit, which evaluates them in its transaction.
 */

const P1 = '2026-12-01T00:00:00Z';
const AT1 = '2026-12-10T00:00:00Z';
const P2 = '2027-01-01T00:00:00Z';
const AT2 = '2027-01-05T00:00:00Z';

interface Definition {
  metric: string;
  direction: 'ABOVE' | 'BELOW';
  threshold: number;
  every?: number;
  wallet?: TestWallet;
  meterCode?: string;
  currency?: string;
  allowance?: number;
  topUpAmount?: number;
  topUpTarget?: number;
  enabled?: boolean;
  deleted?: boolean;
}

/** What a test reads of an alert: its level, the threshold it crossed, the value, and the top-up asked. */
interface Fired {
  level: number;
  threshold: string;
  value: string;
  topUp: string | null;
}

let db: TestDatabase;
let client: pg.Client;
const endpoints: Record<'alerts' | 'topUps' | 'disabled' | 'other', string> = { alerts: randomUUID(), topUps: randomUUID(), disabled: randomUUID(), other: randomUUID() };

beforeAll(async () => {
  db = await createTestDatabase();
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
  // Endpoints are global: every alert of every test is delivered to the ones subscribed to its topic.
  await client.query(
    `insert into webhook_endpoint (id, url, secret, topics, enabled, created_at, updated_at)
     values ($1, 'https://example.test/a', 'whsec_test', '{alert.triggered}', true, now(), now()),
            ($2, 'https://example.test/t', 'whsec_test', '{wallet.top_up_requested}', true, now(), now()),
            ($3, 'https://example.test/d', 'whsec_test', '{alert.triggered,wallet.top_up_requested}', false, now(), now()),
            ($4, 'https://example.test/o', 'whsec_test', '{invoice.finalized}', true, now(), now())`,
    [endpoints.alerts, endpoints.topUps, endpoints.disabled, endpoints.other],
  );
});
afterAll(async () => {
  await client?.end();
  await db?.drop();
});

async function define(customerId: string, d: Definition): Promise<string> {
  const id = randomUUID();
  await client.query(
    `insert into alert_definition (id, customer_id, wallet_id, currency, name, metric, meter_code, direction, threshold, every, allowance,
                                   top_up_amount, top_up_target, enabled, deleted_at, created_at, updated_at)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, now(), now())`,
    [id, customerId, d.wallet?.id ?? null, d.currency ?? null, `${d.metric} ${d.direction} ${d.threshold}`, d.metric, d.meterCode ?? null,
      d.direction, d.threshold, d.every ?? null, d.allowance ?? null, d.topUpAmount ?? null, d.topUpTarget ?? null, d.enabled ?? true,
      d.deleted ? new Date() : null],
  );
  return id;
}

/** Sets a period's committed totals for a meter and currency (as usage_commit keeps them). */
async function setTotal(customerId: string, period: string, t: { meterCode?: string; currency?: string; quantity?: string; charged?: string }) {
  await client.query(
    `insert into usage_period_total as t (customer_id, period_start, meter_code, currency, quantity, max_quantity, amount, charged, events)
     values ($1, $2, $3, $4, $5, $5, 0, $6, 1)
     on conflict (customer_id, period_start, meter_code, currency) do update set quantity = excluded.quantity, charged = excluded.charged`,
    [customerId, period, t.meterCode ?? 'tokens', t.currency ?? 'USD', t.quantity ?? '0', t.charged ?? '0'],
  );
}

async function evaluate(customers: string[], at = AT1, on: pg.ClientBase = client): Promise<Fired[]> {
  const { rows } = await on.query(`select * from alert_evaluate($1::uuid[], $2)`, [customers, at]);
  // A top-up up to a target keeps the scale of the balance's division; its value is what counts.
  return rows.map((a) => ({ level: a.level, threshold: a.threshold, value: a.value, topUp: a.top_up_amount?.replace(/\.0+$/, '') ?? null }));
}

async function state(definitionId: string): Promise<{ level: number; value: string | null; period: string | null }> {
  const { rows } = await client.query(`select level, value, period_start from alert_state where definition_id = $1`, [definitionId]);
  return { level: rows[0].level, value: rows[0].value, period: rows[0].period_start?.toISOString() ?? null };
}

async function alertCount(definitionId: string): Promise<number> {
  return (await client.query(`select count(*)::int as n from alert where definition_id = $1`, [definitionId])).rows[0].n;
}

const fired = (level: number, threshold: string, value: string, topUp: string | null = null): Fired => ({ level, threshold, value, topUp });

describe('alert_evaluate: thresholds', () => {
  it('ABOVE fires once when the value reaches the threshold, and not again while it stays there', async () => {
    const c = await insertCustomer(client);
    const d = await define(c, { metric: 'METER_USAGE', meterCode: 'tokens', direction: 'ABOVE', threshold: 100 });
    await setTotal(c, P1, { quantity: '99.5' });
    expect(await evaluate([c])).toEqual([]);
    expect(await state(d)).toEqual({ level: -1, value: '99.5', period: new Date(P1).toISOString() });

    await setTotal(c, P1, { quantity: '100' });
    expect(await evaluate([c])).toEqual([fired(0, '100', '100')]);
    await setTotal(c, P1, { quantity: '150' });
    expect(await evaluate([c])).toEqual([]);
    expect(await evaluate([c])).toEqual([]);
    expect(await alertCount(d)).toBe(1);
    expect(await state(d)).toMatchObject({ level: 0 });

    const { rows } = await client.query(`select * from alert where definition_id = $1`, [d]);
    expect(rows[0]).toMatchObject({
      customer_id: c, wallet_id: null, metric: 'METER_USAGE', meter_code: 'tokens', direction: 'ABOVE', level: 0,
      threshold: '100', value: '100', top_up_amount: null,
    });
    expect(rows[0].period_start.toISOString()).toBe(new Date(P1).toISOString());
    expect(rows[0].created_at.toISOString()).toBe(new Date(AT1).toISOString());
  });

  it('BELOW fires when the value falls under the threshold (not at it), re-arms when it rises back, and then fires again', async () => {
    const c = await insertCustomer(client);
    const w = await insertWallet(client, c);
    const d = await define(c, { metric: 'WALLET_BALANCE', wallet: w, direction: 'BELOW', threshold: 10 });
    await book(client, w, 'TOP_UP', units(20));
    expect(await evaluate([c])).toEqual([]);
    await book(client, w, 'USAGE', units(-10));
    expect(await evaluate([c])).toEqual([]);
    await book(client, w, 'USAGE', units(-1));
    expect(await evaluate([c])).toEqual([fired(0, '10', '9')]);
    await book(client, w, 'USAGE', units(-4));
    expect(await evaluate([c])).toEqual([]);

    await book(client, w, 'TOP_UP', units(10));
    expect(await evaluate([c])).toEqual([]);
    expect(await state(d)).toMatchObject({ level: -1, value: '15' });
    await book(client, w, 'USAGE', units(-8));
    expect(await evaluate([c])).toEqual([fired(0, '10', '7')]);
    expect(await alertCount(d)).toBe(2);
  });

  it('ABOVE with every fires at each multiple crossed, each its own alert; a jump over many records the last ten', async () => {
    const c = await insertCustomer(client);
    const d = await define(c, { metric: 'PERIOD_SPEND', direction: 'ABOVE', threshold: 10, every: 5 });
    await setTotal(c, P1, { charged: units(12) });
    // Spend in another currency than the customer's is not the definition's.
    await setTotal(c, P1, { currency: 'EUR', charged: units(1000) });
    expect(await evaluate([c])).toEqual([fired(0, '10', '12')]);
    await setTotal(c, P1, { charged: units(21) });
    expect(await evaluate([c])).toEqual([fired(1, '15', '21'), fired(2, '20', '21')]);
    await setTotal(c, P1, { charged: '24999999999' });
    expect(await evaluate([c])).toEqual([]);
    await setTotal(c, P1, { charged: units(25) });
    expect(await evaluate([c])).toEqual([fired(3, '25', '25')]);

    await setTotal(c, P1, { charged: units(1000) });
    const jump = await evaluate([c]);
    expect(jump.map((a) => a.level)).toEqual([189, 190, 191, 192, 193, 194, 195, 196, 197, 198]);
    expect(jump.at(-1)).toEqual(fired(198, '1000', '1000'));
    expect(await state(d)).toMatchObject({ level: 198 });
  });

  it('BELOW with every counts the steps under the threshold', async () => {
    const c = await insertCustomer(client);
    const w = await insertWallet(client, c, { limitMode: 'SOFT' });
    await define(c, { metric: 'WALLET_BALANCE', wallet: w, direction: 'BELOW', threshold: 10, every: 5 });
    await book(client, w, 'TOP_UP', units(20));
    expect(await evaluate([c])).toEqual([]);
    await book(client, w, 'USAGE', units(-15));
    expect(await evaluate([c])).toEqual([fired(0, '10', '5')]);
    await book(client, w, 'USAGE', units(-1));
    expect(await evaluate([c])).toEqual([fired(1, '5', '4')]);
    await book(client, w, 'USAGE', units(-4));
    expect(await evaluate([c])).toEqual([]);
    await book(client, w, 'USAGE', units(-1));
    expect(await evaluate([c])).toEqual([fired(2, '0', '-1')]);
  });

  it('a new billing period starts every period metric over; the period is the latest one begun by the given time', async () => {
    const c = await insertCustomer(client);
    const d = await define(c, { metric: 'PERIOD_SPEND', direction: 'ABOVE', threshold: 10, every: 5 });
    await setTotal(c, P1, { charged: units(17) });
    await setTotal(c, P2, { charged: units(11) });
    // At AT1 the period of P2 has not begun: its spend is not read.
    expect(await evaluate([c], AT1)).toEqual([fired(0, '10', '17'), fired(1, '15', '17')]);
    // In P2 the levels count from none again, though the spend has not fallen below the threshold.
    expect(await evaluate([c], AT2)).toEqual([fired(0, '10', '11')]);
    expect(await state(d)).toEqual({ level: 0, value: '11', period: new Date(P2).toISOString() });
    const { rows } = await client.query(`select period_start from alert where definition_id = $1 order by period_start, level`, [d]);
    expect(rows.map((r) => r.period_start.toISOString())).toEqual([P1, P1, P2].map((p) => new Date(p).toISOString()));
  });

  it('percentages: of the spending cap (none, or zero: not evaluated) and of the allowance', async () => {
    const capped = await insertCustomer(client, { spendingCap: units(200) });
    await define(capped, { metric: 'SPENDING_CAP_USED', direction: 'ABOVE', threshold: 75 });
    await define(capped, { metric: 'ALLOWANCE_USED', meterCode: 'tokens', allowance: 1000, direction: 'ABOVE', threshold: 50 });
    await setTotal(capped, P1, { charged: units(149), quantity: '499' });
    expect(await evaluate([capped])).toEqual([]);
    await setTotal(capped, P1, { charged: units(150), quantity: '500' });
    expect((await evaluate([capped])).sort((a, b) => a.value.localeCompare(b.value))).toEqual([fired(0, '50', '50'), fired(0, '75', '75')]);

    // No cap, or a cap of zero (no spend allowed at all): there is no percentage to watch.
    for (const spendingCap of [null, '0']) {
      const uncapped = await insertCustomer(client, { spendingCap });
      const d = await define(uncapped, { metric: 'SPENDING_CAP_USED', direction: 'ABOVE', threshold: 0 });
      await setTotal(uncapped, P1, { charged: units(150) });
      expect(await evaluate([uncapped])).toEqual([]);
      expect(await state(d)).toEqual({ level: -1, value: null, period: null });
    }
  });

  it('WALLET_AVAILABLE is the balance less open reservations; a top-up definition asks for its amount, or up to its target', async () => {
    const c = await insertCustomer(client);
    const w = await insertWallet(client, c);
    await define(c, { metric: 'WALLET_AVAILABLE', wallet: w, direction: 'BELOW', threshold: 10, topUpTarget: 50 });
    await define(c, { metric: 'WALLET_AVAILABLE', wallet: w, direction: 'BELOW', threshold: 8, topUpAmount: 20 });
    await book(client, w, 'TOP_UP', units(30));
    const reserve = (amount: string, status: string) =>
      client.query(
        `insert into reservation (id, customer_id, idempotency_key, request_hash, meter_code, currency, wallet_id, amount, hold, status,
                                  expires_at, created_at, updated_at)
         values ($1, $2, $3, repeat('0', 64), 'tokens', 'USD', $4, $5, '{}', $6, now() + interval '1 hour', now(), now())`,
        [randomUUID(), c, randomUUID(), w.id, amount, status],
      );
    await reserve(units(20), 'RELEASED');
    expect(await evaluate([c])).toEqual([]);
    await reserve(units(25), 'OPEN');
    expect((await evaluate([c])).sort((a, b) => a.level - b.level || a.threshold.localeCompare(b.threshold))).toEqual([
      fired(0, '10', '5', '45'),
      fired(0, '8', '5', '20'),
    ]);
  });

  it('evaluates only the enabled, undeleted definitions of the customers named', async () => {
    const c = await insertCustomer(client);
    const other = await insertCustomer(client);
    const off = await define(c, { metric: 'PERIOD_SPEND', direction: 'ABOVE', threshold: 1, enabled: false });
    const gone = await define(c, { metric: 'PERIOD_SPEND', direction: 'ABOVE', threshold: 1, deleted: true });
    const others = await define(other, { metric: 'PERIOD_SPEND', direction: 'ABOVE', threshold: 1 });
    await setTotal(c, P1, { charged: units(5) });
    await setTotal(other, P1, { charged: units(5) });
    expect(await evaluate([c])).toEqual([]);
    for (const d of [off, gone, others]) expect(await alertCount(d)).toBe(0);
    expect(await evaluate([c, other])).toEqual([fired(0, '1', '5')]);
  });
});

describe('alert_evaluate: what a crossing writes', () => {
  it('one webhook delivery per alert and enabled endpoint subscribed to its topic, with the alert as alert_json writes it', async () => {
    const c = await insertCustomer(client);
    const w = await insertWallet(client, c);
    const plain = await define(c, { metric: 'WALLET_BALANCE', wallet: w, direction: 'BELOW', threshold: 10 });
    const topUp = await define(c, { metric: 'WALLET_AVAILABLE', wallet: w, direction: 'BELOW', threshold: 10, topUpAmount: 25 });
    await book(client, w, 'TOP_UP', units(3));
    expect(await evaluate([c])).toHaveLength(2);

    const { rows } = await client.query(
      `select a.id, a.definition_id, d.endpoint_id, d.topic, d.payload, d.status, d.attempts, d.next_attempt_at
         from webhook_delivery d join alert a on a.id = d.event_id
        where a.customer_id = $1`,
      [c],
    );
    expect(rows.map((r) => [r.definition_id, r.endpoint_id, r.topic]).sort()).toEqual(
      [[plain, endpoints.alerts, 'alert.triggered'], [topUp, endpoints.topUps, 'wallet.top_up_requested']].sort(),
    );
    const delivery = rows.find((r) => r.definition_id === plain)!;
    expect(delivery).toMatchObject({ status: 'PENDING', attempts: 0 });
    expect(delivery.next_attempt_at.toISOString()).toBe(new Date(AT1).toISOString());
    expect(delivery.payload).toEqual({
      alert: {
        id: delivery.id, definitionId: plain, customerId: c, walletId: w.id, name: 'WALLET_BALANCE BELOW 10', metric: 'WALLET_BALANCE',
        meterCode: null, direction: 'BELOW', level: 0, threshold: '10', value: '3', periodStart: null, topUpAmount: null,
        createdAt: delivery.payload.alert.createdAt,
      },
    });
    expect(new Date(delivery.payload.alert.createdAt).toISOString()).toBe(new Date(AT1).toISOString());
    expect(rows.find((r) => r.definition_id === topUp)!.payload.alert).toMatchObject({ topUpAmount: '25', value: '3' });
  });

  it('two transactions that cross the same threshold record one alert between them', async () => {
    const c = await insertCustomer(client);
    const d = await define(c, { metric: 'PERIOD_SPEND', direction: 'ABOVE', threshold: 10 });
    await setTotal(c, P1, { charged: units(5) });
    expect(await evaluate([c])).toEqual([]);
    const first = new pg.Client({ connectionString: db.url });
    const second = new pg.Client({ connectionString: db.url });
    await Promise.all([first.connect(), second.connect()]);
    try {
      // Two commits, each adding 6 of spend on its own meter: each alone crosses 10.
      const add = (on: pg.Client, meterCode: string) =>
        on.query(
          `insert into usage_period_total (customer_id, period_start, meter_code, currency, quantity, max_quantity, amount, charged, events)
           values ($1, $2, $3, 'USD', 1, 1, 0, $4, 1)`,
          [c, P1, meterCode, units(6)],
        );
      await first.query('begin');
      await add(first, 'images');
      expect(await evaluate([c], AT1, first)).toEqual([fired(0, '10', '11')]);
      const pid = (await second.query('select pg_backend_pid() as pid')).rows[0].pid as number;
      await second.query('begin');
      await add(second, 'audio');
      // The second waits for the first's state row, then sees what the first recorded.
      const secondRun = second.query(`select * from alert_evaluate($1::uuid[], $2)`, [[c], AT1]);
      await waitUntilBlocked(client, pid, secondRun);
      await first.query('commit');
      expect((await secondRun).rows).toEqual([]);
      await second.query('commit');
    } finally {
      await Promise.all([first.end(), second.end()]);
    }
    expect(await alertCount(d)).toBe(1);
    expect(await state(d)).toMatchObject({ level: 0, value: '11' });
  });
});

describe('alert_evaluate: a meter is watched by its aggregation', () => {
  let minute = 0;
  /** A meter of its own for each test: codes are unique. */
  const meterOf = (aggregation: string, property: string | null = null) =>
    insertAggregatedMeter(client, `${aggregation.toLowerCase()}-${randomUUID().slice(0, 8)}`, aggregation, property);
  /** An event's time in the period P1, each later than the one before unless given. */
  const nextTime = () => new Date(Date.parse('2026-12-05T10:00:00Z') + ++minute * 60_000).toISOString();

  /**
   * Commits one event of the meter with usage_commit at AT1, which evaluates the customer's alerts
   * in its transaction: the alerts that commit recorded, from its notice.
   */
  async function use(customerId: string, meter: TestMeter, quantity: string, options: { dimensions?: Record<string, string>; occurredAt?: string } = {}): Promise<Fired[]> {
    const rows = await commitUsage(client, [usageEventRow(customerId, meter, { quantity, occurredAt: options.occurredAt ?? nextTime(), dimensions: options.dimensions })], AT1);
    return (rows[0]!.notice!.alerts as Array<Record<string, string | number | null>>).map((a) =>
      fired(a.level as number, a.threshold as string, a.value as string, (a.topUpAmount as string | null) ?? null));
  }

  it('SUM and COUNT meters: the sum of the quantities', async () => {
    for (const aggregation of ['SUM', 'COUNT']) {
      const c = await insertCustomer(client);
      const meter = await meterOf(aggregation);
      await define(c, { metric: 'METER_USAGE', meterCode: meter.code, direction: 'ABOVE', threshold: 10 });
      expect(await use(c, meter, '3')).toEqual([]);
      expect(await use(c, meter, '7')).toEqual([fired(0, '10', '10')]);
    }
  });

  it('MAX: the highest quantity of the period, not the sum', async () => {
    const c = await insertCustomer(client);
    const meter = await meterOf('MAX');
    const d = await define(c, { metric: 'METER_USAGE', meterCode: meter.code, direction: 'ABOVE', threshold: 10 });
    expect(await use(c, meter, '3')).toEqual([]);
    expect(await use(c, meter, '7')).toEqual([]);
    expect(await use(c, meter, '5')).toEqual([]);
    expect(await state(d)).toMatchObject({ level: -1 });
    expect(await use(c, meter, '12')).toEqual([fired(0, '10', '12')]);
    expect(await use(c, meter, '11')).toEqual([]);
    expect(await evaluate([c])).toEqual([]);
    expect(await state(d)).toMatchObject({ level: 0, value: '12' });
    expect(await alertCount(d)).toBe(1);
  });

  it('LATEST: the last value by time, so a value falling back re-arms the alert; an event that occurred earlier is not the last', async () => {
    const c = await insertCustomer(client);
    const meter = await meterOf('LATEST');
    const d = await define(c, { metric: 'METER_USAGE', meterCode: meter.code, direction: 'ABOVE', threshold: 10 });
    const early = nextTime();
    expect(await use(c, meter, '12')).toEqual([fired(0, '10', '12')]);
    expect(await use(c, meter, '4')).toEqual([]);
    expect(await state(d)).toEqual({ level: -1, value: '4', period: new Date(P1).toISOString() });
    // Committed last, but it occurred before both: the last value is still 4.
    expect(await use(c, meter, '20', { occurredAt: early })).toEqual([]);
    expect(await state(d)).toMatchObject({ level: -1 });
    expect(await use(c, meter, '11')).toEqual([fired(0, '10', '11')]);
    expect(await evaluate([c])).toEqual([]);
    expect(await alertCount(d)).toBe(2);

    // Of two events at one time, the last is the one with the higher id.
    const at = nextTime();
    const rows = await commitUsage(client, [
      { ...usageEventRow(c, meter, { quantity: '3', occurredAt: at }), id: `f${randomUUID().slice(1)}` },
      { ...usageEventRow(c, meter, { quantity: '30', occurredAt: at }), id: `0${randomUUID().slice(1)}` },
    ], AT1);
    expect(rows[0]!.notice!.alerts).toEqual([]);
    expect(await state(d)).toMatchObject({ level: -1, value: '3' });
  });

  it("UNIQUE_COUNT: the distinct values of the meter's property, not the events", async () => {
    const c = await insertCustomer(client);
    const meter = await meterOf('UNIQUE_COUNT', 'user');
    const other = await meterOf('SUM', 'user');
    const d = await define(c, { metric: 'METER_USAGE', meterCode: meter.code, direction: 'ABOVE', threshold: 3 });
    expect(await use(c, meter, '1', { dimensions: { user: 'u1' } })).toEqual([]);
    expect(await use(c, meter, '1', { dimensions: { user: 'u2' } })).toEqual([]);
    expect(await use(c, meter, '1', { dimensions: { user: 'u1' } })).toEqual([]);
    expect(await use(c, meter, '1', { dimensions: { user: 'u2' } })).toEqual([]);
    // Values of the property seen by another meter, or events without it, are not counted.
    expect(await use(c, other, '1', { dimensions: { user: 'u3' } })).toEqual([]);
    expect(await use(c, meter, '1', { dimensions: { team: 't1' } })).toEqual([]);
    expect(await state(d)).toMatchObject({ level: -1 });
    expect(await use(c, meter, '1', { dimensions: { user: 'u3' } })).toEqual([fired(0, '3', '3')]);
    expect(await use(c, meter, '1', { dimensions: { user: 'u3' } })).toEqual([]);
    expect(await state(d)).toMatchObject({ level: 0, value: '3' });
  });

  it('ALLOWANCE_USED of a MAX meter: the highest quantity as a percentage of the allowance', async () => {
    const c = await insertCustomer(client);
    const meter = await meterOf('MAX');
    const d = await define(c, { metric: 'ALLOWANCE_USED', meterCode: meter.code, allowance: 20, direction: 'ABOVE', threshold: 50, every: 25 });
    expect(await use(c, meter, '6')).toEqual([]);
    expect(await use(c, meter, '8')).toEqual([]);
    expect(await state(d)).toMatchObject({ level: -1 });
    expect(await use(c, meter, '10')).toEqual([fired(0, '50', '50')]);
    expect(await use(c, meter, '4')).toEqual([]);
    expect(await use(c, meter, '15')).toEqual([fired(1, '75', '75')]);
    expect(await state(d)).toMatchObject({ level: 1, value: '75' });
  });
});
