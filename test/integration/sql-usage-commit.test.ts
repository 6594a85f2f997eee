import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { book, insertCustomer, insertMeter, insertWallet, sqlError, units, type TestWallet } from '../support/sql-rows.js';

/**
 * usage_commit (src/db/functions/usage_commit.sql) called directly, with the triggers it sets off
 * on usage_event and ledger_entry: the events are JSON as the usage service sends them, and each
 * call's rows, balances, ledger entries, totals, rollups, reservations and outbox are read back.
 */

const PERIOD = '2026-12-01T00:00:00Z';
const AT = '2026-12-05T10:30:00Z';

let db: TestDatabase;
let client: pg.Client;
let meterId: string;

beforeAll(async () => {
  db = await createTestDatabase();
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
  meterId = await insertMeter(client, 'tokens');
});
afterAll(async () => {
  await client?.end();
  await db?.drop();
});

type Event = Record<string, unknown> & { id: string };

/** A priced event as the usage service hands it to usage_commit; charged and allocations in ledger units. */
function usageEvent(customerId: string, key: string, charged: number, options: { wallet?: TestWallet; allocations?: Array<[string, number]>; quantity?: string; occurredAt?: string; reservationId?: string } = {}): Event {
  return {
    id: randomUUID(), customer_id: customerId, idempotency_key: key, request_hash: 'a'.repeat(64), meter_id: meterId, meter_code: 'tokens',
    quantity: options.quantity ?? '10', occurred_at: options.occurredAt ?? '2026-12-05T10:03:00Z', dimensions: { model: 'm1' }, values: {},
    period_start: PERIOD, currency: 'USD', wallet_id: options.wallet?.id ?? null, amount: String(charged), charged: units(charged),
    rule_set_key: 'tokens', rule_set_version: 1, rule_set_hash: 'b'.repeat(64), fired_rules: [], lines: [],
    allocations: (options.allocations ?? []).map(([block, n]) => [block, units(n)]), soft_limit_exceeded: false, available_after: null,
    reservation_id: options.reservationId ?? null, created_at: AT,
  };
}

type Committed = {
  event_id: string;
  inserted: boolean;
  balance_after: string | null;
  version: string;
  notice: Record<string, any> | null;
};

async function commit(events: Event[], batch = randomUUID(), at = AT): Promise<Committed[]> {
  return (await client.query<Committed>(`select * from usage_commit($1::jsonb, $2, $3)`, [JSON.stringify(events), batch, at])).rows;
}

async function one<T = any>(sql: string, params: unknown[]): Promise<T> {
  return (await client.query(sql, params)).rows[0] as T;
}

const balance = async (w: TestWallet) => (await one<{ balance: string }>(`select balance from wallet where id = $1`, [w.id])).balance;
const eventCount = async (customerId: string) => (await one<{ n: number }>(`select count(*)::int as n from usage_event where customer_id = $1`, [customerId])).n;
const version = async (customerId: string) => (await one<{ version: string } | undefined>(`select version from customer_account where customer_id = $1`, [customerId]))?.version ?? null;
const spend = async (customerId: string) =>
  (await one<{ charged: string } | undefined>(`select sum(charged)::text as charged from usage_period_total where customer_id = $1`, [customerId]))?.charged ?? null;

describe('usage_commit', () => {
  it('commits a group: balances after each event, one USAGE entry per wallet and block, period totals, rollups, and the notice on the first row', async () => {
    const c = await insertCustomer(client);
    const w = await insertWallet(client, c);
    await book(client, w, 'TOP_UP', units(100));
    await book(client, w, 'GRANT', units(10));
    const e1 = usageEvent(c, 'k1', 5, { wallet: w, allocations: [[w.grant, 3], [w.main, 2]], quantity: '10' });
    const e2 = usageEvent(c, 'k2', 4, { wallet: w, allocations: [[w.main, 4]], quantity: '4', occurredAt: '2026-12-05T10:14:59Z' });
    const batch = randomUUID();

    const rows = await commit([e1, e2], batch);
    expect(rows.map((r) => [r.event_id, r.inserted, r.balance_after, r.version])).toEqual([
      [e1.id, true, units(105), '1'],
      [e2.id, true, units(101), '1'],
    ]);
    const notice = rows[0]!.notice!;
    expect(rows[1]!.notice).toBeNull();
    expect(notice).toMatchObject({
      version: '1', events: 2, charged: units(9), alerts: [],
      // Two top-ups made the wallet's ledger sequence 2; the commit's two entries make it 4.
      wallets: { [w.id]: { currency: 'USD', balance: units(101), change: `-${units(9)}`, sequence: '4', from: '2' } },
    });
    expect(notice.spend).toHaveLength(1);
    expect(notice.spend[0]).toMatchObject({ currency: 'USD', charged: units(9) });
    expect(new Date(notice.spend[0].periodStart).toISOString()).toBe(new Date(PERIOD).toISOString());

    const outbox = await one(`select topic, customer_id, payload, created_at from outbox where id = $1`, [notice.outboxId]);
    expect(outbox).toMatchObject({ topic: 'usage.committed', customer_id: c });
    const { outboxId: _, ...payload } = notice;
    expect(outbox.payload).toEqual(payload);
    expect(outbox.created_at.toISOString()).toBe(new Date(AT).toISOString());

    const entries = (await client.query(`select credit_block_id, kind, amount, created_at from ledger_entry where usage_batch_id = $1 order by amount`, [batch])).rows;
    expect(entries.map((e) => [e.credit_block_id, e.kind, e.amount])).toEqual([[w.main, 'USAGE', `-${units(6)}`], [w.grant, 'USAGE', `-${units(3)}`]]);
    expect(entries[0].created_at.toISOString()).toBe(new Date(AT).toISOString());
    expect(await balance(w)).toBe(units(101));
    const blocks = (await client.query(`select id, remaining from credit_block where wallet_id = $1`, [w.id])).rows;
    expect(Object.fromEntries(blocks.map((b) => [b.id, b.remaining]))).toEqual({ [w.main]: units(94), [w.grant]: units(7) });

    const events = (await client.query(`select id, usage_batch_id, balance_after from usage_event where customer_id = $1 order by balance_after desc`, [c])).rows;
    expect(events).toEqual([
      { id: e1.id, usage_batch_id: batch, balance_after: units(105) },
      { id: e2.id, usage_batch_id: batch, balance_after: units(101) },
    ]);
    // Quantities are numeric(30, 9) on the event: trim_scale reads them as written.
    expect(await one(`select trim_scale(quantity) as quantity, trim_scale(max_quantity) as max_quantity, amount, charged, events
                        from usage_period_total where customer_id = $1`, [c])).toEqual({
      quantity: '14', max_quantity: '10', amount: '9', charged: units(9), events: '2',
    });
    const rollup = await one(`select bin_start, events, trim_scale(quantity) as quantity, trim_scale(max_quantity) as max_quantity, charged, latest_event_id
                                from usage_rollup where customer_id = $1`, [c]);
    expect(rollup).toMatchObject({ events: '2', quantity: '14', max_quantity: '10', charged: units(9), latest_event_id: e2.id });
    expect(rollup.bin_start.toISOString()).toBe('2026-12-05T10:00:00.000Z');
    expect(await version(c)).toBe('1');

    // A later commit adds to the same rows; an event that occurred earlier is not the latest.
    const e3 = usageEvent(c, 'k3', 1, { wallet: w, allocations: [[w.main, 1]], quantity: '6' });
    expect((await commit([e3]))[0]).toMatchObject({ inserted: true, balance_after: units(100), version: '2' });
    expect(await one(`select trim_scale(quantity) as quantity, trim_scale(max_quantity) as max_quantity, amount, charged, events
                        from usage_period_total where customer_id = $1`, [c])).toEqual({
      quantity: '20', max_quantity: '10', amount: '10', charged: units(10), events: '3',
    });
    expect(await one(`select events, trim_scale(quantity) as quantity, trim_scale(max_quantity) as max_quantity, latest_event_id from usage_rollup where customer_id = $1`, [c]))
      .toEqual({ events: '3', quantity: '20', max_quantity: '10', latest_event_id: e2.id });
  });

  it('commits an idempotency key once: a replay, and a repeat within the group, are not charged again', async () => {
    const c = await insertCustomer(client);
    const w = await insertWallet(client, c);
    await book(client, w, 'TOP_UP', units(100));
    await commit([usageEvent(c, 'k1', 5, { wallet: w, allocations: [[w.main, 5]] })]);
    expect(await balance(w)).toBe(units(95));

    const replay = usageEvent(c, 'k1', 5, { wallet: w, allocations: [[w.main, 5]] });
    const fresh = usageEvent(c, 'k3', 1, { wallet: w, allocations: [[w.main, 1]] });
    const repeat = usageEvent(c, 'k3', 1, { wallet: w, allocations: [[w.main, 1]] });
    const rows = await commit([replay, fresh, repeat]);
    expect(rows.map((r) => [r.event_id, r.inserted, r.balance_after])).toEqual([
      [replay.id, false, null],
      [fresh.id, true, units(94)],
      [repeat.id, false, null],
    ]);
    expect(rows[0]!.notice).toMatchObject({ events: 1, charged: units(1) });
    expect(await balance(w)).toBe(units(94));
    expect((await one(`select sum(amount)::text as usage from ledger_entry where wallet_id = $1 and kind = 'USAGE'`, [w.id])).usage).toBe(`-${units(6)}`);
    expect(await eventCount(c)).toBe(2);
    expect(await spend(c)).toBe(units(6));

    // A group of replays only changes nothing but the customer's version: no entry, no outbox row.
    const outboxBefore = (await one(`select count(*)::int as n from outbox where customer_id = $1`, [c])).n;
    const again = await commit([usageEvent(c, 'k1', 5, { wallet: w, allocations: [[w.main, 5]] })]);
    expect(again.map((r) => [r.inserted, r.balance_after, r.version, r.notice])).toEqual([[false, null, '3', null]]);
    expect(await balance(w)).toBe(units(94));
    expect((await one(`select count(*)::int as n from outbox where customer_id = $1`, [c])).n).toBe(outboxBefore);
  });

  it('gives each customer of a group its version and its notice, on its first row', async () => {
    const a = await insertCustomer(client);
    const b = await insertCustomer(client);
    await commit([usageEvent(b, 'earlier', 1)]);
    const rows = await commit([usageEvent(a, 'a1', 1), usageEvent(b, 'b1', 2), usageEvent(a, 'a2', 3)]);
    expect(rows.map((r) => [r.version, r.notice?.events ?? null, r.notice?.charged ?? null])).toEqual([
      ['1', 2, units(4)],
      ['2', 1, units(2)],
      ['1', null, null],
    ]);
    expect(rows[0]!.notice!.outboxId).not.toBe(rows[1]!.notice!.outboxId);
  });

  it('records the alerts the commit crosses, in it, and carries them in its notice', async () => {
    const c = await insertCustomer(client);
    const d = randomUUID();
    await client.query(
      `insert into alert_definition (id, customer_id, name, metric, direction, threshold, created_at, updated_at)
       values ($1, $2, 'spend', 'PERIOD_SPEND', 'ABOVE', 5, now(), now())`,
      [d, c],
    );
    const [first] = await commit([usageEvent(c, 'k1', 4)]);
    expect(first!.notice!.alerts).toEqual([]);
    const [second] = await commit([usageEvent(c, 'k2', 2)]);
    expect(second!.notice!.alerts).toHaveLength(1);
    expect(second!.notice!.alerts[0]).toMatchObject({ definitionId: d, level: 0, threshold: '5', value: '6' });
    const alert = await one(`select id, created_at from alert where definition_id = $1`, [d]);
    expect(second!.notice!.alerts[0].id).toBe(alert.id);
    expect(alert.created_at.toISOString()).toBe(new Date(AT).toISOString());
  });
});

describe('usage_commit refuses, and then nothing of the commit stays', () => {
  it("a postpaid commit that takes the customer's spend past its spending cap (spending_cap); up to the cap passes", async () => {
    const c = await insertCustomer(client, { spendingCap: units(10) });
    await commit([usageEvent(c, 'k1', 6)]);
    const refused = await sqlError(commit([usageEvent(c, 'k2', 3), usageEvent(c, 'k3', 2)]));
    expect(refused).toMatchObject({ code: '23514', constraint: 'spending_cap' });
    expect(await eventCount(c)).toBe(1);
    expect(await spend(c)).toBe(units(6));
    expect((await one(`select charged from postpaid_spend where customer_id = $1`, [c])).charged).toBe(units(6));
    expect(await version(c)).toBe('1');

    const [row] = await commit([usageEvent(c, 'k4', 4)]);
    expect(row!.inserted).toBe(true);
    expect((await one(`select charged from postpaid_spend where customer_id = $1`, [c])).charged).toBe(units(10));
  });

  it("a debit past a wallet's floor (wallet_floor), or past a grant block's remaining amount", async () => {
    const c = await insertCustomer(client);
    const hard = await insertWallet(client, c);
    await book(client, hard, 'TOP_UP', units(5));
    await book(client, hard, 'GRANT', units(2));
    expect(await sqlError(commit([usageEvent(c, 'k1', 8, { wallet: hard, allocations: [[hard.main, 8]] })]))).toMatchObject({ code: '23514', constraint: 'wallet_floor' });
    expect(await sqlError(commit([usageEvent(c, 'k2', 3, { wallet: hard, allocations: [[hard.grant, 3]] })]))).toMatchObject({
      code: '23514', constraint: 'credit_block_grant_not_negative',
    });
    expect(await balance(hard)).toBe(units(7));
    expect(await eventCount(c)).toBe(0);
    expect(await version(c)).toBeNull();
    const [row] = await commit([usageEvent(c, 'k3', 7, { wallet: hard, allocations: [[hard.main, 5], [hard.grant, 2]] })]);
    expect(row).toMatchObject({ inserted: true, balance_after: '0' });

    const o = await insertCustomer(client);
    const overdraft = await insertWallet(client, o, { limitMode: 'OVERDRAFT' });
    await client.query(`update wallet set overdraft_limit = $2 where id = $1`, [overdraft.id, units(10)]);
    await book(client, overdraft, 'TOP_UP', units(5));
    await commit([usageEvent(o, 'k1', 15, { wallet: overdraft, allocations: [[overdraft.main, 15]] })]);
    expect(await balance(overdraft)).toBe(units(-10));
    expect(await sqlError(commit([usageEvent(o, 'k2', 1, { wallet: overdraft, allocations: [[overdraft.main, 1]] })]))).toMatchObject({ constraint: 'wallet_floor' });
  });

  it('an event settling a reservation that is no longer open or has expired (RESERVATION_CLOSED); an open one is settled', async () => {
    const c = await insertCustomer(client);
    const reserve = async (expiresAt: string) => {
      const id = randomUUID();
      await client.query(
        `insert into reservation (id, customer_id, idempotency_key, request_hash, meter_code, currency, amount, hold, status, expires_at, created_at, updated_at)
         values ($1, $2, $3, repeat('0', 64), 'tokens', 'USD', 0, '{}', 'OPEN', $4, now(), now())`,
        [id, c, randomUUID(), expiresAt],
      );
      return id;
    };
    const open = await reserve('2026-12-05T11:00:00Z');
    const expired = await reserve(AT);
    const settling = usageEvent(c, 'k1', 1, { reservationId: open });
    await commit([settling]);
    const settled = await one(`select status, settled_event_id, updated_at from reservation where id = $1`, [open]);
    expect(settled).toMatchObject({ status: 'SETTLED', settled_event_id: settling.id });
    expect(settled.updated_at.toISOString()).toBe(new Date(AT).toISOString());

    for (const [key, reservationId] of [['k2', expired], ['k3', open]] as const) {
      expect(await sqlError(commit([usageEvent(c, 'other', 1), usageEvent(c, key, 1, { reservationId })]))).toMatchObject({ code: 'P0001', hint: 'RESERVATION_CLOSED' });
    }
    expect(await eventCount(c)).toBe(1);
    expect((await one(`select status from reservation where id = $1`, [expired])).status).toBe('OPEN');
  });
});
