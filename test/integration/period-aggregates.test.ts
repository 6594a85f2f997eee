import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqlClient } from '../../src/db/sql.js';
import { periodLineBackfill } from '../../migrations/Migration20261201000700PeriodLineTotals.js';
import { PeriodUsageRepository, usageGroups, type PeriodUsage, type PeriodUsageRow } from '../../src/modules/invoices/period-usage.repository.js';
import { FixedClock } from '../../src/shared/clock.js';
import { Decimal, formatDecimal } from '../../src/shared/money/decimal.js';
import {
  CreateCustomerDocument,
  CreateMeterDocument,
  CreatePlanDocument,
  CreateSubscriptionDocument,
  CreateWalletDocument,
  GrantCreditsDocument,
  InvoicesDocument,
  RecordUsageBatchDocument,
  RecordUsageDocument,
  TopUpWalletDocument,
  UpcomingInvoiceDocument,
  type InvoiceFieldsFragment,
} from '../generated/graphql.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

/**
 * The period totals (usage_period_line, _paid, _latest), kept by a trigger in the commit of the
 * events, against the events themselves: after varied usage recorded through the service (a SUM
 * meter with graduated tiers, flat fees, free units and two rule-set versions in one period; a
 * volume charge; a cost-plus line; a LATEST meter with two counters; a UNIQUE_COUNT meter; prepaid
 * wallets paying from grants and top-ups; several customers and periods; batches), the tables
 * equal a fresh aggregation of usage_event, and invoices read from them equal invoices read from
 * the raw events by the query they replace (kept at the end of this file as the reference).
 */
const clock = new FixedClock(new Date('2026-02-01T00:00:00Z'));
let t: TestApp;
let sql: pg.Pool;
let seq = 0;

const charge = (name: string, meter: string, params: Record<string, unknown>, more: unknown[] = []) => ({
  name,
  conditions: { all: [{ fact: 'event', path: '$.meter', operator: 'equal', value: meter }, ...more] },
  event: { type: 'charge', params },
});
const model = (operator: string, value: unknown) => ({ fact: 'event', path: '$.dimensions.model', operator, value });
const tokenRules = (version: number, effectiveFrom: string, prices: [string, string, string]) => ({
  key: 'agg-tokens',
  version,
  effectiveFrom,
  currency: 'USD',
  rules: [
    charge('tokens, graduated per model', 'agg_tokens', {
      id: 'tokens',
      model: 'graduated',
      counterBy: ['model'],
      freeUnits: '300',
      tiers: [
        { upTo: '2000', unitPrice: prices[0], flatFee: '0.5' },
        { upTo: '6000', unitPrice: prices[1], flatFee: '1' },
        { upTo: null, unitPrice: prices[2] },
      ],
    }, [model('notEqual', 'llama')]),
    charge('llama at cost plus', 'agg_tokens', { id: 'llama', model: 'cost_plus', of: 'providerCost', markupPercent: '25' }, [model('equal', 'llama')]),
    charge('eu levy', 'agg_tokens', { id: 'eu-levy', model: 'per_unit', unitPrice: '0.0001' }, [{ fact: 'event', path: '$.dimensions.region', operator: 'equal', value: 'eu' }]),
    { name: 'enterprise discount', conditions: { all: [{ fact: 'customer', path: '$.metadata.tier', operator: 'equal', value: 'enterprise' }] }, event: { type: 'adjustment', params: { id: 'ent', kind: 'discount', percent: '10' } } },
  ],
});
const RULES = [
  tokenRules(1, '2026-01-01T00:00:00Z', ['0.002', '0.0015', '0.001']),
  tokenRules(2, '2026-03-15T00:00:00Z', ['0.0025', '0.0012', '0.0009']),
  { key: 'agg-calls', version: 1, effectiveFrom: '2026-01-01T00:00:00Z', currency: 'USD', rules: [charge('calls at volume prices', 'agg_calls', { id: 'calls', model: 'volume', tiers: [{ upTo: '100', unitPrice: '0.01' }, { upTo: null, unitPrice: '0.005', flatFee: '2' }] })] },
  {
    key: 'agg-seats',
    version: 1,
    effectiveFrom: '2026-01-01T00:00:00Z',
    currency: 'USD',
    rules: [charge('seats', 'agg_seats', { id: 'seats', model: 'per_unit', unitPrice: '1' }), charge('seat support', 'agg_seats', { id: 'support', model: 'per_unit', unitPrice: '0.25' })],
  },
  { key: 'agg-users', version: 1, effectiveFrom: '2026-01-01T00:00:00Z', currency: 'USD', rules: [charge('active users', 'agg_users', { id: 'users', model: 'per_unit', unitPrice: '0.01' })] },
];

function rulesDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'billing-period-aggregates-'));
  cpSync(path.resolve('rules'), dir, { recursive: true });
  for (const r of RULES) {
    mkdirSync(path.join(dir, r.key), { recursive: true });
    writeFileSync(path.join(dir, r.key, `v${r.version}.json`), JSON.stringify(r, null, 2));
  }
  return dir;
}

/** Per plan, what its invoices present: `a` hides regions and users, `b` shows them (users by value: read from events). */
const PLANS = {
  'agg-a': { agg_tokens: ['model'], agg_calls: [], agg_seats: [], agg_users: ['region'] },
  'agg-b': { agg_tokens: ['model', 'region'], agg_calls: ['kind'], agg_seats: [], agg_users: ['user'] },
} as const;
const RULE_SET = { agg_tokens: 'agg-tokens', agg_calls: 'agg-calls', agg_seats: 'agg-seats', agg_users: 'agg-users' } as const;

interface Customer {
  id: string;
  plan: keyof typeof PLANS;
}
const customers: Customer[] = [];
const FEB = new Date('2026-02-01T00:00:00Z');
const MAR = new Date('2026-03-01T00:00:00Z');

/** A small deterministic generator (mulberry32), so a failure can be replayed: r(n) is in [0, n). */
function random(seed: number) {
  let s = seed >>> 0;
  return (n: number) => {
    s = (s + 0x6d2b79f5) >>> 0;
    let x = Math.imul(s ^ (s >>> 15), 1 | s);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return Math.floor((((x ^ (x >>> 14)) >>> 0) / 4294967296) * n);
  };
}

/** Varied events of one customer between `from` and `to`, in shuffled time order. */
function eventsOf(c: Customer, n: number, from: number, to: number, seed: number) {
  const r = random(seed);
  const out = [];
  for (let i = 0; i < n; i++) {
    const timestamp = new Date(from + r(to - from)).toISOString();
    const base = { customerId: c.id, timestamp, idempotencyKey: `pa-${seq++}` };
    switch (r(4)) {
      case 0: {
        const m = ['m1', 'm2', 'llama'][r(3)]!;
        const region = ['eu', 'us', null][r(3)];
        const dimensions = region ? { model: m, region } : { model: m };
        out.push({ ...base, meterCode: 'agg_tokens', quantity: String(1 + r(1500)), dimensions, values: m === 'llama' ? { providerCost: `0.${r(1000)}1` } : undefined });
        break;
      }
      case 1:
        out.push({ ...base, meterCode: 'agg_calls', quantity: String(1 + r(40)), dimensions: { kind: r(2) ? 'read' : 'write' } });
        break;
      case 2:
        out.push({ ...base, meterCode: 'agg_seats', quantity: String(1 + r(20)) });
        break;
      default:
        out.push({ ...base, meterCode: 'agg_users', dimensions: { user: `u${r(12)}`, region: r(2) ? 'eu' : 'us' } });
    }
  }
  return out;
}

async function record(events: ReturnType<typeof eventsOf>): Promise<void> {
  for (let i = 0; i < events.length; i += 60) {
    const r = await t.admin.ok(RecordUsageBatchDocument, { input: { atomic: false, events: events.slice(i, i + 60) } });
    expect(r.recordUsageBatch.results.filter((x) => x.refusal).map((x) => x.refusal)).toEqual([]);
  }
}

beforeAll(async () => {
  t = await startTestApp({ clock, env: { RULES_DIR: rulesDir(), RULES_WATCH: 'false', INVOICE_CLOSE_INTERVAL_MS: '0', INVOICE_GRACE_MS: '86400000' } });
  sql = new pg.Pool({ connectionString: t.db.url, max: 4 });
  const meter = (input: Record<string, unknown>) => t.admin.ok(CreateMeterDocument, { input: input as never });
  await meter({ code: 'agg_tokens', name: 'Tokens', aggregation: 'SUM', property: 'tokens', dimensions: ['model', 'region'] });
  await meter({ code: 'agg_calls', name: 'Calls', aggregation: 'SUM', dimensions: ['kind'] });
  await meter({ code: 'agg_seats', name: 'Seats', aggregation: 'LATEST' });
  await meter({ code: 'agg_users', name: 'Users', aggregation: 'UNIQUE_COUNT', property: 'user', dimensions: ['user', 'region'] });
  for (const [code, groupBy] of Object.entries(PLANS)) {
    const charges = Object.entries(groupBy).map(([meterCode, keys]) => ({ meterCode, ruleSetKey: RULE_SET[meterCode as keyof typeof RULE_SET], groupBy: [...keys] }));
    await t.admin.ok(CreatePlanDocument, { input: { code, name: code, currency: 'USD', billingInterval: 'MONTHLY', baseFee: '10', charges } });
  }
  // Two postpaid customers per plan, one of each enterprise; two prepaid, paying from a grant first.
  const setups = [
    { plan: 'agg-a', tier: 'standard', wallet: false },
    { plan: 'agg-b', tier: 'enterprise', wallet: false },
    { plan: 'agg-a', tier: 'enterprise', wallet: true },
    { plan: 'agg-b', tier: 'standard', wallet: true },
  ] as const;
  for (const s of setups) {
    const externalId = `pa-${process.pid}-${seq++}`;
    const { customer } = (await t.admin.ok(CreateCustomerDocument, { input: { externalId, name: externalId, currency: 'USD', metadata: { tier: s.tier } } })).createCustomer;
    await t.admin.ok(CreateSubscriptionDocument, { input: { customerId: customer.id, planCode: s.plan, startsAt: FEB.toISOString(), alignment: 'CALENDAR', baseFeeTiming: 'ARREARS' } });
    if (s.wallet) {
      const { wallet } = (await t.admin.ok(CreateWalletDocument, { input: { customerId: customer.id } })).createWallet;
      await t.admin.ok(GrantCreditsDocument, { input: { walletId: wallet.id, amount: '3', idempotencyKey: `grant-${externalId}`, reason: 'welcome' } });
      await t.admin.ok(TopUpWalletDocument, { input: { walletId: wallet.id, amount: '10000', idempotencyKey: `top-${externalId}` } });
    }
    customers.push({ id: customer.id, plan: s.plan });
  }
  const day = 86_400_000;
  // February, recorded on the 12th; then March (across the v2 switch on the 15th) and late
  // February events, recorded on the 20th. Batches of several customers commit together.
  clock.set('2026-02-12T00:00:00.000Z');
  await record(customers.flatMap((c, i) => eventsOf(c, 90, FEB.getTime(), FEB.getTime() + 11 * day, 100 + i)));
  clock.set('2026-03-20T00:00:00.000Z');
  await Promise.all(customers.map((c, i) => record(eventsOf(c, 120, MAR.getTime(), MAR.getTime() + 19 * day, 200 + i))));
  await record(customers.flatMap((c, i) => eventsOf(c, 30, FEB.getTime() + 24 * day, MAR.getTime() - 1, 300 + i)));
  // And single events, one statement each.
  for (const c of customers) {
    const [e] = eventsOf(c, 1, MAR.getTime() + 19 * day, MAR.getTime() + 19 * day + 1, 400);
    const r = await t.admin.ok(RecordUsageDocument, { input: e! });
    expect(r.recordUsage.status).toBe('ACCEPTED');
  }
}, 120_000);

afterAll(async () => {
  await sql?.end();
  await t?.close();
});

/** Rows as comparable JSON: numbers as exact decimals, sorted. */
async function rowsOf(text: string): Promise<string[]> {
  const { rows } = await sql.query(text);
  const norm = (v: unknown) => (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v) ? formatDecimal(new Decimal(v as string)) : v);
  return rows.map((r) => JSON.stringify(Object.fromEntries(Object.entries(r).map(([k, v]) => [k, norm(v)])))).sort();
}

// A fresh aggregation of usage_event, written apart from the trigger's statements.
const EXPECTED_LINES = `
select e.customer_id, e.period_start, e.currency, e.meter_code, e.rule_set_key, e.rule_set_version, e.rule_set_hash,
       case when m.aggregation = 'UNIQUE_COUNT' then m.property end as folded,
       case when m.aggregation = 'UNIQUE_COUNT' then e.dimensions - m.property::text else e.dimensions end as dimensions,
       l.value->>'c' as c, (l.value->'p') is not null as p, l.value->>'ck' as ck, coalesce(l.value->'adj', '[]') as adj,
       (tp.value->>0)::int as tier, tp.value->>2 as unit_price,
       sum(case when tp.ord is null or tp.ord = 1 then 1 else 0 end)::text as n,
       sum(case when tp.ord is null or tp.ord = 1 then (l.value->>'q')::numeric else 0 end)::text as q,
       sum(case when tp.ord is null or tp.ord = 1 then (l.value->>'a')::numeric else 0 end)::text as a,
       sum(case when tp.ord is null or tp.ord = 1 then coalesce(l.value->>'b', l.value->>'a')::numeric else 0 end)::text as b,
       sum(case when tp.ord is null or tp.ord = 1 then coalesce((l.value->>'cd')::numeric, 0) else 0 end)::text as cd,
       sum((tp.value->>1)::numeric)::text as tq, sum((tp.value->>3)::numeric)::text as tf, sum((tp.value->>4)::numeric)::text as ta
  from usage_event e join meter m on m.id = e.meter_id, jsonb_array_elements(e.lines) l
  left join lateral jsonb_array_elements(l.value->'t') with ordinality tp(value, ord) on true
 group by 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15`;
const ACTUAL_LINES = `
select customer_id, period_start, currency, meter_code, rule_set_key, rule_set_version, rule_set_hash, folded, dimensions, c, p, ck, adj, tier, unit_price,
       n::text, q::text, a::text, b::text, cd::text, tq::text, tf::text, ta::text
  from usage_period_line`;
const EXPECTED_PAID = `
select e.customer_id, e.period_start, e.currency, (x.value->>0)::uuid as block_id, sum((x.value->>1)::numeric)::text as units
  from usage_event e, jsonb_array_elements(e.allocations) x group by 1, 2, 3, 4`;
const ACTUAL_PAID = 'select customer_id, period_start, currency, block_id, units::text from usage_period_paid';
const EXPECTED_LATEST = `
select customer_id, period_start, currency, meter_code, rule_set_key, c, ck, occurred_at as latest_at, id as latest_event_id, rule_set_version, quantity::text, adj
  from (select e.*, l.value->>'c' as c, l.value->>'ck' as ck, coalesce(l.value->'adj', '[]') as adj,
               row_number() over (partition by e.customer_id, e.period_start, e.currency, e.meter_code, e.rule_set_key, l.value->>'c', l.value->>'ck'
                                  order by e.occurred_at desc, e.id desc) as k
          from usage_event e join meter m on m.id = e.meter_id and m.aggregation = 'LATEST', jsonb_array_elements(e.lines) l
         where l.value ? 'ck') x
 where k = 1`;
const ACTUAL_LATEST = `
select customer_id, period_start, currency, meter_code, rule_set_key, c, ck, latest_at, latest_event_id, rule_set_version, quantity::text, adj
  from usage_period_latest`;

async function tablesMatchEvents(): Promise<boolean> {
  const pairs = [[EXPECTED_LINES, ACTUAL_LINES], [EXPECTED_PAID, ACTUAL_PAID], [EXPECTED_LATEST, ACTUAL_LATEST]];
  for (const [expected, actual] of pairs) if (JSON.stringify(await rowsOf(expected!)) !== JSON.stringify(await rowsOf(actual!))) return false;
  return true;
}

/** A period's usage as comparable data: decimals formatted, groups and tier parts sorted (their order was never defined). */
function canonical(u: PeriodUsage) {
  const groups = u.groups.map((g) => ({
    ...g,
    quantity: formatDecimal(g.quantity),
    amount: formatDecimal(g.amount),
    base: formatDecimal(g.base),
    counted: formatDecimal(g.counted),
    tiers: g.tiers.map((x) => [x.tier, formatDecimal(x.unitPrice), formatDecimal(x.flatFee), formatDecimal(x.quantity), formatDecimal(x.amount)].join(' ')).sort(),
  }));
  return {
    groups: groups.map((g) => JSON.stringify(g)).sort(),
    latest: u.latest.map((l) => ({ ...l, value: formatDecimal(l.value) })),
    paid: [...u.paid].sort((a, b) => (a.kind < b.kind ? -1 : 1)).map((p) => `${p.kind} ${p.units}`),
    charged: u.charged.toString(),
    seen: u.seen,
  };
}

async function inTransaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await sql.connect();
  try {
    await client.query('begin isolation level repeatable read');
    return await fn(client);
  } finally {
    await client.query('rollback');
    client.release();
  }
}

/**
 * An invoice as comparable data: ids and positions left out; lines, a line's price parts within a
 * tier and version lists sorted (the raw-event query gave them in no defined order).
 */
function comparable(inv: InvoiceFieldsFragment) {
  const lines = inv.lines.map(({ position: _, ...l }) => {
    const details = { ...(l.details as Record<string, unknown>) };
    if (Array.isArray(details.versions)) details.versions = [...(details.versions as number[])].sort();
    const tiers = [...(l.tiers ?? [])].sort((a, b) => a.tier - b.tier || (a.unitPrice < b.unitPrice ? -1 : a.unitPrice > b.unitPrice ? 1 : 0));
    return JSON.stringify({ ...l, details, tiers });
  });
  return { ...inv, id: null, lines: lines.sort(), ruleSets: [...inv.ruleSets].sort((a, b) => (`${a.key}${a.version}` < `${b.key}${b.version}` ? -1 : 1)) };
}

/** Runs `fn` with the invoice service reading periods through the legacy raw-event query. */
async function withLegacyReads<T>(fn: () => Promise<T>): Promise<T> {
  const service = t.app.services.invoices as unknown as { usage: unknown };
  const current = service.usage;
  service.usage = new LegacyPeriodUsageRepository();
  try {
    return await fn();
  } finally {
    service.usage = current;
  }
}

describe('period line totals', () => {
  it('equal a fresh aggregation of the raw events (lines with tier parts, credit blocks, latest values)', async () => {
    expect(await rowsOf(ACTUAL_LINES)).toEqual(await rowsOf(EXPECTED_LINES));
    expect(await rowsOf(ACTUAL_PAID)).toEqual(await rowsOf(EXPECTED_PAID));
    expect(await rowsOf(ACTUAL_LATEST)).toEqual(await rowsOf(EXPECTED_LATEST));
    // The data is as varied as intended: both versions, tier parts, adjustments, provisional lines, both block kinds, a folded dimension.
    const { rows } = await sql.query(`
      select count(distinct rule_set_version) filter (where rule_set_key = 'agg-tokens') as versions, count(*) filter (where tier > 1) as upper_tiers,
             count(*) filter (where adj <> '[]') as adjusted, count(*) filter (where p) as provisional, count(*) filter (where folded = 'user') as folded,
             (select count(distinct b.kind) from usage_period_paid p join credit_block b on b.id = p.block_id) as block_kinds,
             (select count(distinct (customer_id, period_start)) from usage_period_line) as periods
        from usage_period_line`);
    expect(rows[0]).toMatchObject({ versions: '2', block_kinds: '2', periods: '8' });
    for (const k of ['upper_tiers', 'adjusted', 'provisional', 'folded']) expect(Number(rows[0][k]), k).toBeGreaterThan(0);
  });

  it('give periodUsage exactly what the raw events give, for every customer, period and presentation', async () => {
    const presentations: Array<Record<string, string[]>> = [
      ...Object.values(PLANS).map((p) => Object.fromEntries(Object.entries(p).map(([k, v]) => [k, [...v]]))),
      {},
      { agg_tokens: ['region'], agg_users: ['region', 'user'], agg_calls: ['kind'] },
      { agg_users: ['nothing-like-this'], agg_tokens: ['model', 'nothing-like-this'] },
    ];
    const repo = new PeriodUsageRepository();
    const legacy = new LegacyPeriodUsageRepository();
    let compared = 0;
    for (const c of customers) {
      for (const period of [FEB, MAR]) {
        for (const groupBy of presentations) {
          for (const latest of [['agg_seats'], []]) {
            const [now, before] = await inTransaction(async (client) => [
              await repo.periodUsage(client, c.id, period, 'USD', groupBy, latest),
              await legacy.periodUsage(client, c.id, period, 'USD', groupBy, latest),
            ]);
            expect(canonical(now)).toEqual(canonical(before));
            expect(now.groups.length).toBeGreaterThan(0);
            compared++;
          }
        }
      }
    }
    expect(compared).toBe(customers.length * 2 * presentations.length * 2);
  });

  it('give invoices exactly what the raw events give: upcoming (March) and February drafts', async () => {
    for (const c of customers) {
      const upcoming = async () => (await t.admin.ok(UpcomingInvoiceDocument, { customerId: c.id })).upcomingInvoice!;
      const now = await upcoming();
      const before = await withLegacyReads(upcoming);
      expect(now.invoice.lines.length).toBeGreaterThan(3);
      expect({ ...now, invoice: comparable(now.invoice) }).toEqual({ ...before, invoice: comparable(before.invoice) });
    }
    // February within its grace day: a draft, computed from the raw events and then from the totals.
    clock.set('2026-03-01T12:00:00.000Z');
    try {
      const draft = async (c: Customer) => {
        await t.app.services.invoices.closeCustomer(c.id, clock.now());
        const { invoices } = await t.admin.ok(InvoicesDocument, { customerId: c.id, first: 10 });
        return invoices.nodes.find((i) => i.periodStart === FEB.toISOString() && i.kind === 'PERIOD')!;
      };
      for (const c of customers) {
        const before = await withLegacyReads(() => draft(c));
        const now = await draft(c);
        expect(now.status).toBe('DRAFT');
        expect(comparable(now)).toEqual(comparable(before));
        expect(now.lines.some((l) => l.kind === 'TRUE_UP')).toBe(true);
      }
    } finally {
      clock.set('2026-03-20T00:00:00.000Z');
    }
  });

  // Last: it drops the trigger, then rebuilds the totals with the migration's backfill.
  it('would fail without the trigger, and the backfill rebuilds what it keeps', async () => {
    expect(await tablesMatchEvents()).toBe(true);
    await sql.query('drop trigger usage_event_period_line on usage_event');
    await record(eventsOf(customers[0]!, 8, MAR.getTime() + 19 * 86_400_000, MAR.getTime() + 19 * 86_400_000 + 1000, 500));
    expect(await tablesMatchEvents()).toBe(false);

    const client = await sql.connect();
    try {
      await client.query('begin');
      await client.query('truncate usage_period_line, usage_period_paid, usage_period_latest');
      await client.query(`create trigger usage_event_period_line after insert on usage_event
                            referencing new table as new_events for each statement execute function usage_period_line_add()`);
      await client.query(periodLineBackfill());
      await client.query('commit');
    } finally {
      client.release();
    }
    expect(await tablesMatchEvents()).toBe(true);
    await record(eventsOf(customers[1]!, 8, MAR.getTime() + 19 * 86_400_000, MAR.getTime() + 19 * 86_400_000 + 1000, 600));
    expect(await tablesMatchEvents()).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------
// The reference: periodUsage as it was read from the raw events before the period totals
// (src/modules/invoices/period-usage.repository.ts at 05449ee), unchanged but for its name.

const legacyPeriodUsageSql = (dims: string) => `
with part as (
  select u.kind, e.meter_code, e.rule_set_key, e.rule_set_version, e.rule_set_hash, ${dims} as dims, u.item, tp.value as tp,
         coalesce(tp.ord, 1) = 1 as head
    from usage_event e
   cross join lateral (select 'line' as kind, l as item from jsonb_array_elements(e.lines) l
                       union all select 'paid', x from jsonb_array_elements(e.allocations) x) u
    left join lateral jsonb_array_elements(case when u.kind = 'line' then u.item->'t' end) with ordinality tp(value, ord) on true
   where e.customer_id = $1 and e.period_start = $2 and e.currency = $3
), agg as (
  select kind, meter_code, rule_set_key, rule_set_version, rule_set_hash,
         case when kind = 'line' then dims end as dims,
         case when kind = 'line' then item->>'c' else item->>0 end as c,
         coalesce(item ? 'p', false) as p, item->>'ck' as ck, coalesce(item->'adj', '[]'::jsonb) as adj,
         (tp->>0)::int as tier, tp->>2 as unit_price,
         count(*) filter (where head) as n,
         coalesce(sum((item->>'q')::numeric) filter (where head), 0)::text as q,
         coalesce(sum(case when kind = 'line' then (item->>'a')::numeric else (item->>1)::numeric end) filter (where head), 0)::text as a,
         coalesce(sum(coalesce(item->>'b', item->>'a')::numeric) filter (where head and kind = 'line'), 0)::text as b,
         coalesce(sum((item->>'cd')::numeric) filter (where head), 0)::text as cd,
         sum((tp->>1)::numeric)::text as tq, sum((tp->>3)::numeric)::text as tf, sum((tp->>4)::numeric)::text as ta
    from part
   group by 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12
)
select (select coalesce(jsonb_agg(agg), '[]'::jsonb) from agg where kind = 'line') as rows,
       (select coalesce(jsonb_agg(jsonb_build_object('kind', y.kind, 'units', y.units)), '[]'::jsonb)
          from (select b.kind, sum(x.a::numeric)::text as units from agg x join credit_block b on b.id = x.c::uuid
                 where x.kind = 'paid' group by b.kind) y) as paid,
       (select coalesce(sum(events), 0)::text from usage_period_total where customer_id = $1 and period_start = $2 and currency = $3) as seen,
       (select coalesce(sum(charged), 0)::text from usage_period_total where customer_id = $1 and period_start = $2 and currency = $3) as charged`;

const legacyLatestSql = `
select distinct on (e.rule_set_key, l->>'c', l->>'ck')
       e.rule_set_key, e.rule_set_version, l->>'c' as c, l->>'ck' as ck, e.quantity::text as q, coalesce(l->'adj', '[]'::jsonb) as adj
  from usage_event e cross join lateral jsonb_array_elements(e.lines) l
 where e.customer_id = $1 and e.period_start = $2 and e.currency = $3 and e.meter_code = any($4::text[]) and l ? 'ck'
 order by e.rule_set_key, l->>'c', l->>'ck', e.occurred_at desc, e.id desc`;

function legacyPresentedDimensions(groupBy: Record<string, string[]>, params: unknown[]): string {
  const arg = (v: string) => {
    params.push(v);
    return `$${params.length}::text`;
  };
  const cases = Object.entries(groupBy)
    .filter(([, keys]) => keys.length > 0)
    .map(([meter, keys]) => `when ${arg(meter)} then jsonb_strip_nulls(jsonb_build_object(${keys.map((k) => { const p = arg(k); return `${p}, e.dimensions -> ${p}`; }).join(', ')}))`);
  return cases.length === 0 ? `'{}'::jsonb` : `case e.meter_code ${cases.join(' ')} else '{}'::jsonb end`;
}


class LegacyPeriodUsageRepository extends PeriodUsageRepository {
  override async periodUsage(client: SqlClient, customerId: string, periodStart: Date, currency: string, groupBy: Record<string, string[]>, latestMeters: string[] = []): Promise<PeriodUsage> {
    await client.query(`set local jit = off; set local enable_sort = off; set local work_mem = '64MB'`);
    const params: unknown[] = [customerId, periodStart, currency];
    const text = legacyPeriodUsageSql(legacyPresentedDimensions(groupBy, params));
    const { rows } = await client.query<{ rows: PeriodUsageRow[]; paid: Array<{ kind: 'MAIN' | 'GRANT'; units: string }>; seen: string; charged: string }>(text, params);
    await client.query('reset enable_sort; reset work_mem');
    const latest =
      latestMeters.length === 0
        ? []
        : (await client.query<{ rule_set_key: string; rule_set_version: number; c: string; ck: string; q: string; adj: string[] }>(legacyLatestSql, [customerId, periodStart, currency, latestMeters])).rows;
    const r = rows[0]!;
    return {
      // The same mapping as the repository: what this reference checks is the SQL.
      groups: usageGroups(r.rows),
      latest: latest.map((l) => ({ ruleSetKey: l.rule_set_key, ruleSetVersion: l.rule_set_version, component: l.c, counterKey: l.ck, value: new Decimal(l.q), adjustments: l.adj })),
      paid: r.paid.map((p) => ({ kind: p.kind, units: BigInt(p.units) })),
      charged: BigInt(r.charged),
      seen: Number(r.seen),
    };
  }
}
