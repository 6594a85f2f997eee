import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Decimal } from '../../src/shared/money/decimal.js';
import { FixedClock } from '../../src/shared/clock.js';
import {
  CreateApiKeyDocument,
  CreateCustomerDocument,
  CreateMeterDocument,
  CreatePlanDocument,
  CreateSubscriptionDocument,
  CreateWalletDocument,
  CurrentPeriodDocument,
  RecordUsageBatchDocument,
  TopUpWalletDocument,
  UpdateWalletDocument,
  UsageDocument,
  type RecordUsageInput,
  type UsageQuery,
} from '../generated/graphql.js';
import { codesOf } from '../support/graphql-client.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

/** Per-unit prices for one meter of each aggregation; tokens are priced below ledger precision on purpose. */
const RULE_SET = {
  key: 'usage-kinds',
  version: 1,
  effectiveFrom: '2026-01-01T00:00:00Z',
  currency: 'USD',
  description: 'One per-unit price per meter, for usage report tests.',
  rules: Object.entries({ tokens: '0.0000000031', calls: '0.002', peak_gpus: '0.5', active_users: '0.01', seats: '1' }).map(([meter, unitPrice]) => ({
    name: `${meter} per unit`,
    conditions: { all: [{ fact: 'event', path: '$.meter', operator: 'equal', value: meter }] },
    event: { type: 'charge', params: { id: meter, description: meter, model: 'per_unit', unitPrice } },
  })),
};

const NOW = new Date('2026-03-20T12:00:00Z');
const clock = new FixedClock(NOW);
let t: TestApp;
let rulesDir: string;
let seq = 0;

beforeAll(async () => {
  rulesDir = await mkdtemp(path.join(tmpdir(), 'usage-reports-rules-'));
  await mkdir(path.join(rulesDir, 'usage-kinds'));
  await writeFile(path.join(rulesDir, 'usage-kinds', 'v1.json'), JSON.stringify(RULE_SET, null, 2));
  t = await startTestApp({ clock, env: { RULES_DIR: rulesDir, RULES_WATCH: 'false' } });
  const meters = [
    { code: 'tokens', name: 'Tokens', aggregation: 'SUM', property: 'tokens', dimensions: ['model', 'tokenType'] },
    { code: 'calls', name: 'Calls', aggregation: 'COUNT', dimensions: ['model'] },
    { code: 'peak_gpus', name: 'Peak GPUs', aggregation: 'MAX', property: 'gpus', dimensions: ['region'] },
    { code: 'active_users', name: 'Active users', aggregation: 'UNIQUE_COUNT', property: 'user', dimensions: ['user', 'model'] },
    { code: 'seats', name: 'Seats', aggregation: 'LATEST', property: 'seats', dimensions: [] },
  ] as const;
  for (const m of meters) await t.admin.ok(CreateMeterDocument, { input: { ...m, dimensions: [...m.dimensions] } });
  await t.admin.ok(CreatePlanDocument, {
    input: { code: 'kinds', name: 'Kinds', currency: 'USD', billingInterval: 'MONTHLY', baseFee: '0', charges: meters.map((m) => ({ meterCode: m.code, ruleSetKey: 'usage-kinds' })) },
  });
});
afterAll(async () => {
  await t.close();
  await rm(rulesDir, { recursive: true, force: true });
});

async function customer(timezone: string, opts: { funds?: string; spendingCap?: string; limitMode?: 'HARD' | 'SOFT' | 'OVERDRAFT'; overdraftLimit?: string } = {}) {
  const externalId = `ur-${process.pid}-${seq++}`;
  const { customer } = (await t.admin.ok(CreateCustomerDocument, { input: { externalId, name: externalId, currency: 'USD', timezone, spendingCap: opts.spendingCap } })).createCustomer;
  await t.admin.ok(CreateSubscriptionDocument, { input: { customerId: customer.id, planCode: 'kinds', startsAt: '2026-01-01T00:00:00Z' } });
  let walletId: string | null = null;
  if (opts.funds !== undefined) {
    walletId = (await t.admin.ok(CreateWalletDocument, { input: { customerId: customer.id } })).createWallet.wallet.id;
    if (opts.limitMode) await t.admin.ok(UpdateWalletDocument, { input: { id: walletId, limitMode: opts.limitMode, overdraftLimit: opts.overdraftLimit } });
    await t.admin.ok(TopUpWalletDocument, { input: { walletId, amount: opts.funds, idempotencyKey: `fund-${externalId}` } });
  }
  return { id: customer.id, walletId };
}

type Ev = { meter: string; at: string; quantity?: string; dims?: Record<string, string> };

async function record(customerId: string, events: Ev[]): Promise<void> {
  const input: RecordUsageInput[] = events.map((e) => ({
    customerId,
    meterCode: e.meter,
    quantity: e.quantity,
    timestamp: e.at,
    dimensions: e.dims,
    idempotencyKey: `k-${seq++}`,
  }));
  // Up to 1,000 per batch: a customer's batch is rated in order, so even prices finer than a
  // ledger unit per counter unit (every event priced at its own counter position) go in one round.
  for (let i = 0; i < input.length; i += 1000) {
    const r = (await t.admin.ok(RecordUsageBatchDocument, { input: { events: input.slice(i, i + 1000) } })).recordUsageBatch;
    expect(r.allAccepted, JSON.stringify(r.results.find((x) => x.status !== 'ACCEPTED'))).toBe(true);
  }
}

type Group = UsageQuery['usage']['buckets'][number]['groups'][number];
const dimsOf = (g: Group) => Object.fromEntries(g.dimensions.map((d) => [d.key, d.value]));

describe('usage', () => {
  it('buckets days at midnight in the customer zone, half-hour offsets included, and reads unaligned edges from the events', async () => {
    const c = await customer('Asia/Kolkata');
    // Local midnight of 10 March in Kolkata (+05:30) is 18:30 UTC on the 9th.
    await record(c.id, [
      { meter: 'tokens', at: '2026-03-09T18:20:00Z', quantity: '100', dims: { model: 'a' } },
      { meter: 'tokens', at: '2026-03-09T18:29:59Z', quantity: '200', dims: { model: 'b' } },
      { meter: 'tokens', at: '2026-03-09T18:30:00Z', quantity: '400', dims: { model: 'a' } },
      { meter: 'tokens', at: '2026-03-09T18:44:00Z', quantity: '800', dims: { model: 'a' } },
    ]);
    const r = (await t.admin.ok(UsageDocument, { customerId: c.id, from: '2026-03-08T18:30:00Z', to: '2026-03-10T18:30:00Z', granularity: 'DAY', groupBy: { meter: true, dimensions: ['model'] } })).usage;
    expect(r.timezone).toBe('Asia/Kolkata');
    expect(r.buckets.map((b) => [b.start, b.end])).toEqual([
      ['2026-03-08T18:30:00.000Z', '2026-03-09T18:30:00.000Z'],
      ['2026-03-09T18:30:00.000Z', '2026-03-10T18:30:00.000Z'],
    ]);
    expect(r.buckets[0]!.groups.map((g) => [dimsOf(g).model, g.quantity, g.events])).toEqual([['a', '100', 1], ['b', '200', 1]]);
    expect(r.buckets[1]!.groups.map((g) => [dimsOf(g).model, g.quantity, g.events])).toEqual([['a', '1200', 2]]);

    // [18:29, 18:35) lies inside two 15-minute bins: only the events in it count.
    const edge = (await t.admin.ok(UsageDocument, { customerId: c.id, from: '2026-03-09T18:29:00Z', to: '2026-03-09T18:35:00Z', granularity: 'HOUR' })).usage;
    expect(edge.buckets.map((b) => [b.start, b.groups.map((g) => g.quantity)])).toEqual([
      ['2026-03-09T17:30:00.000Z', ['200']],
      ['2026-03-09T18:30:00.000Z', ['400']],
    ]);
  });

  it('follows daylight saving time: a 23-hour day in New York', async () => {
    const c = await customer('America/New_York');
    // Clocks went forward at 02:00 on 8 March 2026: that day runs from 05:00Z to 04:00Z next day.
    await record(c.id, [
      { meter: 'calls', at: '2026-03-08T04:59:00Z', dims: { model: 'a' } },
      { meter: 'calls', at: '2026-03-09T03:59:00Z', dims: { model: 'a' } },
      { meter: 'calls', at: '2026-03-09T04:00:00Z', dims: { model: 'a' } },
    ]);
    const r = (await t.admin.ok(UsageDocument, { customerId: c.id, from: '2026-03-07T05:00:00Z', to: '2026-03-10T04:00:00Z', granularity: 'DAY' })).usage;
    expect(r.buckets.map((b) => [b.start, b.end, b.groups[0]?.quantity ?? null])).toEqual([
      ['2026-03-07T05:00:00.000Z', '2026-03-08T05:00:00.000Z', '1'],
      ['2026-03-08T05:00:00.000Z', '2026-03-09T04:00:00.000Z', '1'],
      ['2026-03-09T04:00:00.000Z', '2026-03-10T04:00:00.000Z', '1'],
    ]);
  });

  it('aggregates each meter type per bucket: COUNT, SUM, MAX, UNIQUE_COUNT and LATEST', async () => {
    const c = await customer('UTC');
    await record(c.id, [
      { meter: 'calls', at: '2026-03-05T10:01:00Z', dims: { model: 'a' } },
      { meter: 'calls', at: '2026-03-05T10:02:00Z', dims: { model: 'a' } },
      { meter: 'calls', at: '2026-03-05T11:02:00Z', dims: { model: 'a' } },
      { meter: 'tokens', at: '2026-03-05T10:03:00Z', quantity: '1234', dims: { model: 'a' } },
      { meter: 'tokens', at: '2026-03-05T11:03:00Z', quantity: '766', dims: { model: 'a' } },
      { meter: 'peak_gpus', at: '2026-03-05T10:05:00Z', quantity: '3', dims: { region: 'eu' } },
      { meter: 'peak_gpus', at: '2026-03-05T10:40:00Z', quantity: '7', dims: { region: 'us' } },
      { meter: 'peak_gpus', at: '2026-03-05T11:10:00Z', quantity: '5', dims: { region: 'eu' } },
      { meter: 'active_users', at: '2026-03-05T10:05:00Z', quantity: '1', dims: { user: 'ann', model: 'a' } },
      { meter: 'active_users', at: '2026-03-05T10:20:00Z', quantity: '1', dims: { user: 'bob', model: 'b' } },
      { meter: 'active_users', at: '2026-03-05T10:21:00Z', quantity: '1', dims: { user: 'bob', model: 'a' } },
      { meter: 'active_users', at: '2026-03-05T11:00:00Z', quantity: '1', dims: { user: 'ann', model: 'a' } },
      { meter: 'active_users', at: '2026-03-05T11:30:00Z', quantity: '1', dims: { user: 'cat', model: 'a' } },
      { meter: 'seats', at: '2026-03-05T10:05:00Z', quantity: '10' },
    ]);
    // Separate commits into the same bins, the later event first: the latest is by time, not by arrival.
    await record(c.id, [{ meter: 'seats', at: '2026-03-05T10:55:00Z', quantity: '12' }]);
    await record(c.id, [{ meter: 'seats', at: '2026-03-05T10:50:00Z', quantity: '11' }]);
    await record(c.id, [{ meter: 'seats', at: '2026-03-05T11:20:00Z', quantity: '9' }]);

    const q = (granularity: 'HOUR' | 'DAY') =>
      t.admin.ok(UsageDocument, { customerId: c.id, from: '2026-03-05T10:00:00Z', to: '2026-03-05T12:00:00Z', granularity, groupBy: { meter: true } });
    const quantities = (r: UsageQuery) => r.usage.buckets.map((b) => Object.fromEntries(b.groups.map((g) => [g.meterCode, g.quantity])));
    expect(quantities(await q('HOUR'))).toEqual([
      { calls: '2', tokens: '1234', peak_gpus: '7', active_users: '2', seats: '12' },
      { calls: '1', tokens: '766', peak_gpus: '5', active_users: '2', seats: '9' },
    ]);
    // Distinct users are not the sum of the hours' (ann came back); the day's latest is 11:20's.
    expect(quantities(await q('DAY'))).toEqual([{ calls: '3', tokens: '2000', peak_gpus: '7', active_users: '3', seats: '9' }]);

    const day = (await q('DAY')).usage;
    const tokens = day.buckets[0]!.groups.find((g) => g.meterCode === 'tokens')!;
    // 2000 tokens at 0.0000000031: 0.0000062 exact; charged per event at 1e-9 (1234 → 0.000003825, 766 → 0.000002375).
    expect(tokens).toMatchObject({ aggregation: 'SUM', amount: '0.0000062', charged: '0.0000062', events: 2 });
    // LATEST is charged per event for each rise of the highest value (10, then 12): 12, not 10 + 12 + 11 + 9.
    expect(day.buckets[0]!.groups.find((g) => g.meterCode === 'seats')).toMatchObject({ aggregation: 'LATEST', events: 4, amount: '12', charged: '12' });
    // MAX: 3, then the rise to 7; the 5 raises nothing. At 0.5 per GPU: 3.5.
    expect(day.buckets[0]!.groups.find((g) => g.meterCode === 'peak_gpus')).toMatchObject({ aggregation: 'MAX', events: 3, amount: '3.5' });
    // UNIQUE_COUNT: ann, bob and cat, each charged once at 0.01 however often they came back.
    expect(day.buckets[0]!.groups.find((g) => g.meterCode === 'active_users')).toMatchObject({ aggregation: 'UNIQUE_COUNT', events: 5, amount: '0.03' });

    // Not grouped by meter: one group per currency and dimension values; no quantity across meters.
    const mixed = (await t.admin.ok(UsageDocument, { customerId: c.id, from: '2026-03-05T00:00:00Z', to: '2026-03-06T00:00:00Z', granularity: 'DAY', groupBy: { dimensions: ['model'] } })).usage;
    expect(mixed.buckets[0]!.groups.map((g) => [dimsOf(g).model, g.meterCode, g.quantity, g.events])).toEqual([
      ['a', null, null, 9],
      ['b', 'active_users', '1', 1],
      [null, null, null, 7],
    ]);
    const only = (await t.admin.ok(UsageDocument, { customerId: c.id, from: '2026-03-05T00:00:00Z', to: '2026-03-06T00:00:00Z', granularity: 'DAY', meterCodes: ['peak_gpus'] })).usage;
    expect(only.buckets[0]!.groups).toMatchObject([{ meterCode: 'peak_gpus', quantity: '7', events: 3, charged: '3.5' }]);
  });

  it('adds up, to the unit, to what the events were priced at and the ledger charged', async () => {
    const c = await customer('Asia/Kathmandu', { funds: '1000' });
    const events: Ev[] = [];
    for (let i = 0; i < 600; i++) {
      const at = new Date(Date.parse('2026-02-20T00:00:00Z') + ((i * 7_919_993) % (25 * 86_400_000)));
      events.push({ meter: 'tokens', at: at.toISOString(), quantity: String(1 + ((i * 7_877) % 99_991)), dims: { model: ['a', 'b', 'c'][i % 3]!, tokenType: i % 2 ? 'input' : 'output' } });
    }
    await record(c.id, events);
    const r = (await t.admin.ok(UsageDocument, { customerId: c.id, from: '2026-02-15T00:00:00Z', to: '2026-03-20T00:00:00Z', granularity: 'DAY', groupBy: { meter: true, dimensions: ['model'] } })).usage;
    const groups = r.buckets.flatMap((b) => b.groups);
    const sum = (f: (g: Group) => string) => groups.reduce((s, g) => s.plus(f(g)), new Decimal(0));
    const [db] = await t.app.sql.query<{ amount: string; charged: string; events: string; ledger: string }>(
      `select trim_scale(sum(e.amount))::text as amount, sum(e.charged)::text as charged, count(*)::text as events,
              (select -sum(amount) from ledger_entry where wallet_id = $2 and kind = 'USAGE')::text as ledger
         from usage_event e where e.customer_id = $1`,
      [c.id, c.walletId],
    );
    expect(sum((g) => g.amount).toFixed()).toBe(db!.amount);
    expect(sum((g) => g.charged).times(1e9).toFixed()).toBe(db!.charged);
    expect(db!.ledger).toBe(db!.charged);
    expect(groups.reduce((n, g) => n + g.events, 0)).toBe(600);
    expect(r.totals).toEqual([{ currency: 'USD', amount: db!.amount, charged: new Decimal(db!.charged).div(1e9).toFixed(), events: 600 }]);

    // Per local day (Kathmandu, +05:45) and model, straight from the events.
    const perDay = await t.app.sql.query<{ day: string; model: string; amount: string; charged: string }>(
      `select to_char(occurred_at at time zone 'Asia/Kathmandu', 'YYYY-MM-DD') as day, dimensions->>'model' as model,
              trim_scale(sum(amount))::text as amount, sum(charged)::text as charged
         from usage_event where customer_id = $1 group by 1, 2 order by 1, 2`,
      [c.id],
    );
    const local = (iso: string) => new Date(Date.parse(iso) + 345 * 60_000).toISOString().slice(0, 10);
    const fromReport = r.buckets.flatMap((b) =>
      b.groups.map((g) => ({ day: local(b.start), model: dimsOf(g).model, amount: g.amount, charged: new Decimal(g.charged).times(1e9).toFixed() })),
    );
    expect(fromReport).toEqual(perDay);
  });

  it('lets a CUSTOMER key read its own customer and no other', async () => {
    const mine = await customer('UTC');
    const other = await customer('UTC');
    const { secret } = (await t.admin.ok(CreateApiKeyDocument, { input: { name: 'frontend', role: 'CUSTOMER', customerId: mine.id } })).createApiKey;
    const key = t.client(secret);
    const vars = (customerId: string) => ({ customerId, from: '2026-03-01T00:00:00Z', to: '2026-03-02T00:00:00Z', granularity: 'DAY' as const });
    expect((await key.ok(UsageDocument, vars(mine.id))).usage.buckets).toHaveLength(1);
    expect((await key.ok(CurrentPeriodDocument, { customerId: mine.id })).currentPeriod.customerId).toBe(mine.id);
    expect(codesOf(await key.request(UsageDocument, vars(other.id)))).toEqual(['FORBIDDEN']);
    expect(codesOf(await key.request(CurrentPeriodDocument, { customerId: other.id }))).toEqual(['FORBIDDEN']);
    const { secret: ingest } = (await t.admin.ok(CreateApiKeyDocument, { input: { name: 'ingest', role: 'INGEST' } })).createApiKey;
    expect(codesOf(await t.client(ingest).request(UsageDocument, vars(mine.id)))).toEqual(['FORBIDDEN']);
  });

  it('refuses a reversed range, too many buckets and bad groups with VALIDATION_FAILED', async () => {
    const c = await customer('UTC');
    const reversed = await t.admin.request(UsageDocument, { customerId: c.id, from: '2026-03-02T00:00:00Z', to: '2026-03-01T00:00:00Z', granularity: 'DAY' });
    expect(codesOf(reversed)).toEqual(['VALIDATION_FAILED']);
    expect(reversed.errors![0]!.extensions!.fields).toEqual([{ path: 'from', message: 'must be before to' }]);
    const many = await t.admin.request(UsageDocument, { customerId: c.id, from: '2026-01-01T00:00:00Z', to: '2026-03-01T00:00:00Z', granularity: 'HOUR' });
    expect(codesOf(many)).toEqual(['VALIDATION_FAILED']);
    expect(many.errors![0]!.message).toContain('more than 1000 HOUR buckets; narrow it or choose a coarser granularity');
    // The same range by day is fine.
    expect((await t.admin.ok(UsageDocument, { customerId: c.id, from: '2026-01-01T00:00:00Z', to: '2026-03-01T00:00:00Z', granularity: 'DAY' })).usage.buckets).toHaveLength(59);
    const groups = await t.admin.request(UsageDocument, { customerId: c.id, from: '2026-03-01T00:00:00Z', to: '2026-03-02T00:00:00Z', granularity: 'DAY', groupBy: { dimensions: ['a', 'b', 'c', 'd', 'e', '__proto__'] } });
    expect(codesOf(groups)).toEqual(['VALIDATION_FAILED']);
    expect((groups.errors![0]!.extensions!.fields as Array<{ path: string }>).map((f) => f.path)).toEqual(['groupBy.dimensions', 'groupBy.dimensions.5']);
    expect(codesOf(await t.admin.request(CurrentPeriodDocument, { customerId: c.id, topModels: 51 }))).toEqual(['VALIDATION_FAILED']);
    expect(codesOf(await t.admin.request(CurrentPeriodDocument, { customerId: '00000000-0000-7000-8000-000000000000' }))).toEqual(['NOT_FOUND']);
  });
});

describe('currentPeriod', () => {
  it('shows spend so far and projected, wallets with their limits, the spending cap and top models', async () => {
    const c = await customer('UTC', { funds: '5', limitMode: 'OVERDRAFT', overdraftLimit: '10' });
    await record(c.id, [
      { meter: 'seats', at: '2026-03-02T00:00:00Z', quantity: '4' },
      { meter: 'calls', at: '2026-03-10T00:00:00Z', dims: { model: 'gpt' } },
      { meter: 'calls', at: '2026-03-11T00:00:00Z', dims: { model: 'gpt' } },
      { meter: 'active_users', at: '2026-03-12T00:00:00Z', quantity: '1', dims: { user: 'u', model: 'claude' } },
      { meter: 'tokens', at: '2026-03-20T11:58:00Z', quantity: '1000', dims: { model: 'claude' } },
      // February: another period.
      { meter: 'seats', at: '2026-02-27T00:00:00Z', quantity: '1' },
    ]);
    const p = (await t.admin.ok(CurrentPeriodDocument, { customerId: c.id })).currentPeriod;
    expect(p).toMatchObject({ planCode: 'kinds', start: '2026-03-01T00:00:00.000Z', end: '2026-04-01T00:00:00.000Z', asOf: NOW.toISOString(), elapsed: '0.629' });
    // 4 + 0.004 + 0.01 + 0.0000031 charged; 19.5 of 31 days gone: projected = spent × 31 / 19.5.
    const spent = new Decimal('4.0140031');
    expect(p.spend).toEqual([{ currency: 'USD', amount: '4.0140031', charged: '4.0140031', events: 5, projected: spent.times(31).div(19.5).toDecimalPlaces(9, Decimal.ROUND_HALF_UP).toFixed() }]);
    expect(p.spendingCap).toBeNull();
    // Balance 5 - 1 (February) - 4.0140031 = -0.0140031: into the overdraft.
    expect(p.wallets).toEqual([
      {
        wallet: { id: c.walletId, balance: '-0.0140031', held: '0', available: '-0.0140031', limitMode: 'OVERDRAFT' },
        floor: '-10',
        headroom: '9.9859969',
        overdraftUsed: '0.0140031',
        overdraftUsedPercent: '0.14',
      },
    ]);
    expect(p.topModels).toEqual([
      { model: 'claude', currency: 'USD', amount: '0.0100031', charged: '0.0100031', events: 2 },
      { model: 'gpt', currency: 'USD', amount: '0.004', charged: '0.004', events: 2 },
    ]);
    expect((await t.admin.ok(CurrentPeriodDocument, { customerId: c.id, topModels: 1 })).currentPeriod.topModels.map((m) => m.model)).toEqual(['claude']);
  });

  it('reports the spending cap used and projects a period that has barely started over a full day', async () => {
    const c = await customer('UTC', { spendingCap: '100' });
    try {
      clock.set('2026-04-01T01:00:00Z');
      await record(c.id, [{ meter: 'seats', at: '2026-04-01T00:30:00Z', quantity: '24' }]);
      const p = (await t.admin.ok(CurrentPeriodDocument, { customerId: c.id })).currentPeriod;
      expect(p).toMatchObject({ start: '2026-04-01T00:00:00.000Z', end: '2026-05-01T00:00:00.000Z', wallets: [] });
      expect(p.spendingCap).toEqual({ currency: 'USD', cap: '100', used: '24', remaining: '76', percentUsed: '24' });
      // One hour into 30 days: the rate is 24 over a whole day, not over the hour (which would
      // project 24 × 720 = 17280); 719 hours remain: 24 + 24 × 719 / 24.
      expect(p.spend[0]!.projected).toBe('743');
    } finally {
      clock.set(NOW);
    }
  });
});
