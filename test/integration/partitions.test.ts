import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqlPool } from '../../src/db/sql.js';
import { PeriodUsageRepository } from '../../src/modules/invoices/period-usage.repository.js';
import { AccountRepository } from '../../src/modules/reservations/account.repository.js';
import { UsagePartitionRepository } from '../../src/modules/usage/usage-partition.repository.js';
import { UsageRepository } from '../../src/modules/usage/usage.repository.js';
import { UsageReportRepository } from '../../src/modules/usage-reports/usage-report.repository.js';
import { FixedClock } from '../../src/shared/clock.js';
import {
  CreateCustomerDocument,
  CreateMeterDocument,
  CreatePlanDocument,
  CreateSubscriptionDocument,
  InvoiceDocument,
  InvoicesDocument,
  RecordUsageDocument,
  UsageDocument,
} from '../generated/graphql.js';
import { databaseBefore } from '../support/database.js';
import { codesOf } from '../support/graphql-client.js';
import { runBilling } from '../support/process.js';
import { insertCustomer, insertMeter, sqlError, waitUntilBlocked } from '../support/sql-rows.js';
import { deleteRedisKeys, startTestApp, type TestApp } from '../support/test-app.js';

/**
 * usage_event is partitioned by month of occurred_at (Migration20261201000800UsageEventPartitions):
 * partitions are created ahead, each event is stored in its month, the hot reads scan only the
 * months they need (shown by the plans PostgreSQL runs them with), retention drops whole months
 * once invoiced and final and keeps every aggregate, and a database with events converts.
 */

// Events may be 10 days old: the service starting on March 1 needs February on.
const clock = new FixedClock(new Date('2026-03-01T00:00:00Z'));
let t: TestApp;
let partitions: UsagePartitionRepository;
let seq = 0;
/** Customer A: on a plan, usage through the API, invoiced. B: usage committed in SQL, no plan. */
let a: string;
let b: string;
let tokens: string;
let users: string;

beforeAll(async () => {
  t = await startTestApp({ clock, env: { RULES_WATCH: 'false', INVOICE_CLOSE_INTERVAL_MS: '0', INVOICE_GRACE_MS: '86400000', USAGE_MAX_AGE_DAYS: '10', USAGE_PARTITIONS_INTERVAL_MS: '0' } });
  partitions = new UsagePartitionRepository(t.app.sql);
  await t.admin.ok(CreateMeterDocument, { input: { code: 'llm_tokens', name: 'Tokens', aggregation: 'SUM', property: 'tokens', dimensions: ['model', 'tokenType'] } });
  await t.admin.ok(CreateMeterDocument, { input: { code: 'active_users', name: 'Users', aggregation: 'UNIQUE_COUNT', property: 'user', dimensions: ['user'] } });
  await t.admin.ok(CreatePlanDocument, {
    input: { code: 'hybrid', name: 'Hybrid', currency: 'USD', billingInterval: 'MONTHLY', baseFee: '49', charges: [{ meterCode: 'llm_tokens', ruleSetKey: 'hybrid-plan', groupBy: ['model'] }] },
  });
  const { customer } = (await t.admin.ok(CreateCustomerDocument, { input: { externalId: `p-${process.pid}-a`, name: 'A', currency: 'USD' } })).createCustomer;
  a = customer.id;
  await t.admin.ok(CreateSubscriptionDocument, { input: { customerId: a, planCode: 'hybrid', startsAt: '2026-03-01T00:00:00.000Z', baseFeeTiming: 'ARREARS' } });
  const client = await t.app.sql.pool.connect();
  try {
    b = await insertCustomer(client);
  } finally {
    client.release();
  }
  const meterId = async (code: string) => (await t.app.sql.query<{ id: string }>('select id from meter where code = $1', [code]))[0]!.id;
  tokens = await meterId('llm_tokens');
  users = await meterId('active_users');
});

afterAll(async () => {
  await t?.close();
});

async function use(customerId: string, at: string, quantity: string, key = `e-${seq++}`, timestamp: string | null = at) {
  clock.set(at);
  return t.admin.request(RecordUsageDocument, { input: { customerId, meterCode: 'llm_tokens', quantity, dimensions: { model: 'gpt-4o', tokenType: 'input' }, timestamp, idempotencyKey: key } });
}

/** A priced postpaid event as the usage service hands it to usage_commit (see sql-usage-commit.test.ts). */
function rawEvent(customerId: string, key: string, occurredAt: string, periodStart: string, meter: 'tokens' | 'users' = 'tokens', extra: Record<string, unknown> = {}) {
  return {
    id: randomUUID(), customer_id: customerId, idempotency_key: key, request_hash: 'a'.repeat(64),
    meter_id: meter === 'tokens' ? tokens : users, meter_code: meter === 'tokens' ? 'llm_tokens' : 'active_users', quantity: '1', occurred_at: occurredAt,
    dimensions: meter === 'tokens' ? { model: 'gpt-4o', tokenType: 'input' } : { user: `u${seq++ % 3}` }, values: {}, period_start: periodStart, currency: 'USD',
    wallet_id: null, amount: '0', charged: '0', rule_set_key: 'r', rule_set_version: 1, rule_set_hash: 'b'.repeat(64), fired_rules: [],
    lines: [{ c: meter === 'tokens' ? 'calls' : 'users', q: '1', a: '0' }], allocations: [], soft_limit_exceeded: false, available_after: null,
    reservation_id: null, created_at: occurredAt, ...extra,
  };
}

async function commit(events: Array<Record<string, unknown>>, sql: SqlPool = t.app.sql): Promise<Array<{ event_id: string; inserted: boolean }>> {
  return sql.query('select event_id, inserted from usage_commit($1::jsonb, $2, $3)', [JSON.stringify(events), randomUUID(), clock.now()]);
}

/** The partition each event is stored in, by event id. */
async function homes(ids: string[]): Promise<Record<string, string>> {
  const rows = await t.app.sql.query<{ id: string; part: string }>('select id, tableoid::regclass::text as part from usage_event where id = any($1::uuid[])', [ids]);
  return Object.fromEntries(rows.map((r) => [r.id, r.part]));
}

const names = async () => (await partitions.list()).map((p) => p.name);

describe('monthly partitions of usage_event', () => {
  it('are created ahead when the service starts: from the oldest timestamp it accepts to three months after the current one, beside the default', async () => {
    expect(await names()).toEqual(['usage_event_2026_02', 'usage_event_2026_03', 'usage_event_2026_04', 'usage_event_2026_05', 'usage_event_2026_06', 'usage_event_default']);
    const list = await partitions.list();
    expect(list[1]).toMatchObject({ rangeStart: new Date('2026-03-01T00:00:00Z'), rangeEnd: new Date('2026-04-01T00:00:00Z') });
    expect(list.at(-1)).toMatchObject({ rangeStart: null, rangeEnd: null });
    // Older months, as a service running since the autumn would have made them.
    expect(await partitions.ensure(new Date('2025-11-15T00:00:00Z'), new Date('2026-03-01T00:00:00Z'))).toEqual(['usage_event_2025_11', 'usage_event_2025_12', 'usage_event_2026_01']);
    expect(await partitions.ensure(new Date('2025-11-15T00:00:00Z'), new Date('2026-03-01T00:00:00Z'))).toEqual([]);
  });

  it('store each event in the partition of its month, a UTC calendar month', async () => {
    const r1 = await use(a, '2026-03-03T10:07:00.000Z', '600000');
    const r2 = await use(a, '2026-03-20T10:00:00.000Z', '900000');
    const [x, y] = [rawEvent(b, 'b-last', '2026-03-31T23:59:59.999Z', '2026-03-01T00:00:00Z'), rawEvent(b, 'b-first', '2026-04-01T00:00:00.000Z', '2026-04-01T00:00:00Z')];
    expect((await commit([x, y])).map((r) => r.inserted)).toEqual([true, true]);
    const ids = [r1.data!.recordUsage.event!.id, r2.data!.recordUsage.event!.id, x.id, y.id];
    expect(await homes(ids)).toEqual({ [ids[0]!]: 'usage_event_2026_03', [ids[1]!]: 'usage_event_2026_03', [x.id]: 'usage_event_2026_03', [y.id]: 'usage_event_2026_04' });
  });

  it('a month created after some of its events reached the default partition takes them over, counted once', async () => {
    const total = async () => (await t.app.sql.query<{ events: string; quantity: string }>(`select sum(events)::text as events, sum(quantity)::text as quantity from usage_period_total where customer_id = $1`, [b]))[0];
    const late = rawEvent(b, 'b-september', '2026-09-10T08:00:00Z', '2026-09-01T00:00:00Z');
    await commit([late]);
    expect(await homes([late.id])).toEqual({ [late.id]: 'usage_event_default' });
    const before = await total();

    clock.set('2026-08-20T00:00:00Z');
    expect(await t.app.services.partitions.ensure()).toEqual(['usage_event_2026_08', 'usage_event_2026_09', 'usage_event_2026_10', 'usage_event_2026_11']);
    expect(await homes([late.id])).toEqual({ [late.id]: 'usage_event_2026_09' });
    expect((await t.app.sql.query('select 1 from usage_event_default')).length).toBe(0);
    expect(await total()).toEqual(before);
    // The moved month and the default, attached again, are append-only like every other.
    for (const part of ['usage_event_2026_09', 'usage_event_default']) {
      const triggers = await t.app.sql.query<{ tgname: string }>(`select tgname from pg_trigger where tgrelid = $1::regclass and not tgisinternal`, [part]);
      expect(triggers.map((r) => r.tgname)).toEqual(['usage_event_append_only']);
    }
    expect((await sqlError(t.app.sql.query(`delete from usage_event where id = $1`, [late.id]))).message).toMatch(/immutable/);
    clock.set('2026-03-21T00:00:00Z');
  });

  it('keep an idempotency key taken once for all months: a replay dated in another month is a duplicate; a direct insert is refused', async () => {
    const again = rawEvent(b, 'b-last', '2026-04-02T00:00:00Z', '2026-04-01T00:00:00Z');
    expect(await commit([again])).toEqual([{ event_id: again.id, inserted: false }]);
    const err = await sqlError(t.app.sql.query(`insert into usage_event select * from jsonb_populate_record(null::usage_event, $1::jsonb)`, [JSON.stringify({ ...again, usage_batch_id: randomUUID() })]));
    expect(err).toMatchObject({ code: '40001' });
    expect((await t.app.sql.query('select 1 from usage_event where id = $1', [again.id])).length).toBe(0);
  });

  it('a key two commits take at once: the second waits for the first and is answered as a duplicate', async () => {
    const [one, two] = [new pg.Client({ connectionString: t.db.url }), new pg.Client({ connectionString: t.db.url })];
    await Promise.all([one.connect(), two.connect()]);
    try {
      const call = (c: pg.Client, e: Record<string, unknown>) => c.query('select event_id, inserted from usage_commit($1::jsonb, $2, $3)', [JSON.stringify([e]), randomUUID(), clock.now()]);
      const [first, second] = [rawEvent(b, 'b-race', '2026-03-20T00:00:00Z', '2026-03-01T00:00:00Z'), rawEvent(b, 'b-race', '2026-04-20T00:00:00Z', '2026-04-01T00:00:00Z')];
      await one.query('begin');
      await call(one, first);
      const pid = (await two.query('select pg_backend_pid() as pid')).rows[0].pid as number;
      const racing = call(two, second);
      await waitUntilBlocked(one, pid, racing);
      await one.query('commit');
      expect((await racing).rows).toEqual([{ event_id: second.id, inserted: false }]);
      expect(await homes([first.id, second.id])).toEqual({ [first.id]: 'usage_event_2026_03' });
    } finally {
      await Promise.all([one.end(), two.end()]);
    }
  });
});

/** A plan as auto_explain logged it: the statement and its plan (EXPLAIN ANALYZE, JSON). */
interface Logged {
  text: string;
  plan: PlanNode;
}
interface PlanNode {
  'Relation Name'?: string;
  'Actual Loops'?: number;
  'Subplans Removed'?: number;
  Plans?: PlanNode[];
}

/** The usage_event partitions a plan holds (those pruned at planning or at start are not in it), and those it read. */
function partitionsOf(node: PlanNode, out = { planned: new Set<string>(), read: new Set<string>(), removed: 0 }) {
  const rel = node['Relation Name'];
  if (rel && /^usage_event_(\d{4}_\d{2}|default)$/.test(rel)) {
    out.planned.add(rel);
    if ((node['Actual Loops'] ?? 0) > 0) out.read.add(rel);
  }
  out.removed += node['Subplans Removed'] ?? 0;
  for (const child of node.Plans ?? []) partitionsOf(child, out);
  return out;
}

const sorted = (s: Set<string>) => [...s].sort();

/**
 * A pool whose every statement, nested ones in functions too, is run as usual and its plan sent
 * back by auto_explain (EXPLAIN ANALYZE, JSON) as a notice.
 */
function explainingPool(url: string, settings: Record<string, string> = {}): { pool: SqlPool; logged: Logged[] } {
  const logged: Logged[] = [];
  const pool = new SqlPool(url, 1, {
    settings: {
      session_preload_libraries: 'auto_explain',
      'auto_explain.log_min_duration': '0',
      'auto_explain.log_analyze': 'on',
      'auto_explain.log_format': 'json',
      'auto_explain.log_nested_statements': 'on',
      client_min_messages: 'log',
      ...settings,
    },
  });
  pool.pool.on('connect', (client) =>
    client.on('notice', (n) => {
      const json = n.message?.slice(n.message.indexOf('{'));
      if (!n.message?.includes('plan:') || !json) return;
      const parsed = JSON.parse(json) as { 'Query Text': string; Plan: PlanNode };
      logged.push({ text: parsed['Query Text'], plan: parsed.Plan });
    }),
  );
  return { pool, logged };
}

const touching = (logged: Logged[]) => logged.filter((l) => /\busage_event\b/.test(l.text));

describe('reads of usage_event scan only the months they need', () => {
  let x: ReturnType<typeof explainingPool>;
  beforeAll(async () => {
    x = explainingPool(t.db.url);
    // B's UNIQUE_COUNT usage in March, and an alert on it.
    await commit([0, 1, 2, 3].map((i) => rawEvent(b, `b-users-${i}`, `2026-03-1${i}T12:00:00Z`, '2026-03-01T00:00:00Z', 'users')));
    await t.app.sql.query(
      `insert into alert_definition (id, customer_id, name, metric, meter_code, direction, threshold, created_at, updated_at)
       values (gen_random_uuid(), $1, 'users', 'METER_USAGE', 'active_users', 'ABOVE', 100, now(), now())`,
      [b],
    );
  });
  afterAll(async () => {
    await x?.pool.close();
  });

  it('a usage report over a time range reads the events at its edges from that month only', async () => {
    x.logged.length = 0;
    const from = new Date('2026-03-02T10:07:00Z');
    const to = new Date('2026-03-05T10:07:00Z');
    const lo = new Date('2026-03-02T10:15:00Z');
    const hi = new Date('2026-03-05T10:00:00Z');
    const rows = await new UsageReportRepository(x.pool).aggregate({ customerId: a, from, to, lo, hi, bounds: [from, to], dimensions: [], meterCodes: null });
    expect(rows.map((r) => [r.meterCode, r.events])).toEqual([['llm_tokens', '1']]);
    const [report] = touching(x.logged);
    const seen = partitionsOf(report!.plan);
    expect(sorted(seen.planned)).toEqual(['usage_event_2026_03']);
  });

  it('an event found by its idempotency key is read from its month alone', async () => {
    x.logged.length = 0;
    const event = await new UsageRepository(x.pool).findByKey(b, 'b-last');
    expect(event?.occurredAt).toEqual(new Date('2026-03-31T23:59:59.999Z'));
    const seen = partitionsOf(touching(x.logged)[0]!.plan);
    expect(sorted(seen.read)).toEqual(['usage_event_2026_03']);
  });

  it("a customer's events in a billing period (the store's rebuild) skip the months before the period", async () => {
    x.logged.length = 0;
    const snap = await new AccountRepository(x.pool).periodSnapshot(b, new Date('2026-03-01T00:00:00Z'), 0);
    expect(snap.meterQuantities.get('active_users')).toBe(3_000_000_000n);
    const reads = touching(x.logged);
    expect(reads).toHaveLength(3);
    for (const r of reads) {
      const seen = partitionsOf(r.plan);
      expect(seen.planned.has('usage_event_2026_03'), r.text).toBe(true);
      expect(sorted(seen.planned).filter((p) => p < 'usage_event_2026_03'), r.text).toEqual([]);
    }
  });

  it("alert_evaluate's reads of events, planned generic as on the commit connections, prune the months before the period when they start", async () => {
    const generic = explainingPool(t.db.url, { plan_cache_mode: 'force_generic_plan', enable_seqscan: 'off' });
    try {
      await generic.pool.query('select * from alert_evaluate(array[$1]::uuid[], $2)', [b, new Date('2026-03-31T12:00:00Z')]);
      const distinct = generic.logged.find((l) => /count\(distinct e\.dimensions/.test(l.text));
      expect(distinct, 'the UNIQUE_COUNT read').toBeDefined();
      const seen = partitionsOf(distinct!.plan);
      expect(seen.removed).toBeGreaterThanOrEqual(4);
      expect(sorted(seen.planned).filter((p) => p < 'usage_event_2026_03')).toEqual([]);
      expect(sorted(seen.read)).toContain('usage_event_2026_03');
    } finally {
      await generic.pool.close();
    }
  });

  it("an invoice presenting a UNIQUE_COUNT meter by its property reads that meter's events from the period on", async () => {
    x.logged.length = 0;
    const usage = await x.pool.transaction((client) => new PeriodUsageRepository().periodUsage(client, b, new Date('2026-03-01T00:00:00Z'), 'USD', { active_users: ['user'] }));
    expect(usage.groups.filter((g) => g.meterCode === 'active_users').map((g) => g.events).reduce((s, n) => s + n, 0)).toBe(4);
    const read = touching(x.logged).find((l) => l.text.includes('raw_meter'));
    const seen = partitionsOf(read!.plan);
    expect(seen.planned.has('usage_event_2026_03')).toBe(true);
    expect(sorted(seen.planned).filter((p) => p < 'usage_event_2026_03')).toEqual([]);
  });
});

describe('retention', () => {
  let reservation: string;
  let marchInvoice: unknown;
  let marchReport: unknown;
  const prune = (dryRun: boolean) => partitions.prune(new Date('2026-04-01T00:00:00Z'), dryRun);
  const fate = async (dryRun: boolean) => Object.fromEntries((await prune(dryRun)).map((p) => [p.name, [p.action, p.events, p.reason]]));
  const closeA = (at: string) => {
    clock.set(at);
    return t.app.services.invoices.closeCustomer(a, new Date(at));
  };
  const aMarchReport = async () =>
    (await t.admin.ok(UsageDocument, { customerId: a, from: '2026-03-01T00:00:00.000Z', to: '2026-04-01T00:00:00.000Z', granularity: 'DAY' })).usage.totals;

  beforeAll(async () => {
    // B settles a reservation in March: its event id stays referenced.
    reservation = randomUUID();
    await t.app.sql.query(
      `insert into reservation (id, customer_id, idempotency_key, request_hash, meter_code, currency, amount, hold, status, expires_at, created_at, updated_at)
       values ($1, $2, 'b-hold', repeat('0', 64), 'llm_tokens', 'USD', 0, '{}', 'OPEN', '2026-03-30T00:00:00Z', now(), now())`,
      [reservation, b],
    );
    clock.set('2026-03-25T00:00:00Z');
    await commit([rawEvent(b, 'b-hold', '2026-03-25T00:00:00Z', '2026-03-01T00:00:00Z', 'tokens', { reservation_id: reservation })]);
    expect((await closeA('2026-04-01T00:00:00.000Z')).drafted).toBe(1);
    expect((await closeA('2026-04-02T00:00:00.000Z')).finalized).toHaveLength(1);
    // Usage of March arriving on April 5: billed on April's invoice as late usage.
    expect((await use(a, '2026-04-05T00:00:00.000Z', '100000', 'a-late', '2026-03-30T12:00:00.000Z')).data!.recordUsage.status).toBe('ACCEPTED');
  });

  it('keeps an old month while one of its billing periods has no final invoice, and says whose', async () => {
    const f = await fate(true);
    expect(f.usage_event_2026_01).toEqual(['WOULD_DROP', '0', 'older than the retention period, and empty']);
    expect(f.usage_event_2026_03).toEqual(['KEPT', '10', `customer ${b}: no final invoice (issued, not void) for the billing period from 2026-03-01 00:00Z`]);
    expect(f.usage_event_2026_04).toEqual(['KEPT', null, 'within the retention period (it ends after 2026-04-01 00:00Z)']);
    expect(f.usage_event_default?.[0]).toBe('KEPT');
    expect(await names()).toContain('usage_event_2026_01');
  });

  it('keeps it while a draft invoice still bills late usage of the period', async () => {
    await t.app.sql.query(
      `insert into invoice (id, customer_id, kind, status, currency, period_start, period_end, grace_ends_at, number, subtotal, tax, total, prepaid, amount_due,
                            precise, rule_sets, usage_seen, rounding, proration, computed_at, finalized_at, created_at, updated_at)
       values (gen_random_uuid(), $1, 'PERIOD', 'FINALIZED', 'USD', '2026-03-01T00:00:00Z', '2026-04-01T00:00:00Z', '2026-04-02T00:00:00Z', 'B-1', 0, 0, 0, 0, 0,
               '{}', '[]', '{}', 'HALF_UP', 'DAY', now(), now(), now(), now())`,
      [b],
    );
    expect((await closeA('2026-05-01T00:00:00.000Z')).drafted).toBe(1);
    const f = await fate(true);
    expect(f.usage_event_2026_03).toEqual(['KEPT', '10', `customer ${a}: a draft invoice still bills late usage of the billing period from 2026-03-01 00:00Z`]);
  });

  it('drops the month once every period is invoiced and final (DETACH and DROP: the append-only trigger does not stand in the way); aggregates, invoices and keys stay', async () => {
    expect((await closeA('2026-05-02T00:00:00.000Z')).finalized).toHaveLength(1);
    const { invoices } = await t.admin.ok(InvoicesDocument, { customerId: a, first: 10 });
    const march = invoices.nodes.find((i) => i.periodStart === '2026-03-01T00:00:00.000Z')!;
    marchInvoice = await t.admin.ok(InvoiceDocument, { id: march.id });
    marchReport = await aMarchReport();
    const totals = await t.app.sql.query('select * from usage_period_total order by customer_id, period_start, meter_code');
    const rollups = await t.app.sql.query('select customer_id, bin_start, meter_code, events, quantity from usage_rollup order by 1, 2, 3, 4');
    const keys = await t.app.sql.query<{ n: number }>('select count(*)::int as n from usage_event_key');

    const dropped = await prune(false);
    expect(dropped.filter((p) => p.action === 'DROPPED').map((p) => [p.name, p.events])).toEqual([
      ['usage_event_2025_11', '0'], ['usage_event_2025_12', '0'], ['usage_event_2026_01', '0'], ['usage_event_2026_02', '0'], ['usage_event_2026_03', '10'],
    ]);
    expect(await names()).toEqual(['usage_event_2026_04', 'usage_event_2026_05', 'usage_event_2026_06', 'usage_event_2026_08', 'usage_event_2026_09', 'usage_event_2026_10', 'usage_event_2026_11', 'usage_event_default']);
    expect((await t.app.sql.query(`select 1 from usage_event where occurred_at < '2026-04-01'`)).length).toBe(0);

    expect(await t.app.sql.query('select * from usage_period_total order by customer_id, period_start, meter_code')).toEqual(totals);
    expect(await t.app.sql.query('select customer_id, bin_start, meter_code, events, quantity from usage_rollup order by 1, 2, 3, 4')).toEqual(rollups);
    expect(await t.app.sql.query('select count(*)::int as n from usage_event_key')).toEqual(keys);
    expect(await t.admin.ok(InvoiceDocument, { id: march.id })).toEqual(marchInvoice);
    // Whole days: read from the rollups.
    expect(await aMarchReport()).toEqual(marchReport);
    // The settled reservation still names its event, whose id usage_event_key keeps.
    const [settled] = await t.app.sql.query<{ settled_event_id: string }>('select settled_event_id from reservation where id = $1', [reservation]);
    expect((await t.app.sql.query('select 1 from usage_event_key where event_id = $1', [settled!.settled_event_id])).length).toBe(1);
    expect(await sqlError(t.app.sql.query('update reservation set settled_event_id = $2 where id = $1', [reservation, randomUUID()]))).toMatchObject({ code: '23503' });
    // What is left is still append-only.
    expect((await sqlError(t.app.sql.query(`delete from usage_event where customer_id = $1`, [b]))).message).toMatch(/immutable/);
  });

  it('a retried key whose event was dropped is refused, never charged again', async () => {
    const count = async () => (await t.app.sql.query<{ n: number }>('select count(*)::int as n from usage_event_key where customer_id = $1', [a]))[0]!.n;
    const before = await count();
    // Months later the reservation store has long forgotten the key: only PostgreSQL knows it.
    await deleteRedisKeys(t.redisPrefix);
    const r = await use(a, '2026-05-03T00:00:00.000Z', '100000', 'a-late', null);
    expect(codesOf(r)).toEqual(['ALREADY_EXISTS']);
    expect(r.errors![0]!.message).toMatch(/recorded for 2026-03-30T12:00:00.000Z; its details are past the retention period/);
    expect(await count()).toBe(before);
    expect((await t.app.sql.query(`select 1 from usage_event where customer_id = $1 and occurred_at >= '2026-05-01'`, [a])).length).toBe(0);
  });

  it('an invoice of a dropped month that would read its events is refused rather than recomputed from what is left', async () => {
    const err = await t.app.sql.transaction((client) => new PeriodUsageRepository().periodUsage(client, b, new Date('2026-03-01T00:00:00Z'), 'USD', { active_users: ['user'] })).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/active_users .* dropped by retention/);
    expect((err as { code?: string }).code).toBe('EVENTS_NOT_RETAINED');
  });

  it('on the command line: list, ensure ahead, and a dry run of prune that says why each month stays', async () => {
    const env = { DATABASE_URL: t.db.url, LOG_LEVEL: 'warn', USAGE_MAX_AGE_DAYS: '10' };
    const list = await runBilling(['partitions', 'list'], env);
    expect(list.stderr).toBe('');
    expect(list.stdout).toMatch(/^usage_event_2026_04 {2}2026-04-01\.\.2026-05-01 {2}.* MiB$/m);
    expect(list.stdout).toMatch(/^usage_event_default {2}default /m);
    expect(list.stdout).toMatch(/^8 partition\(s\)$/m);

    // The command line runs on the real clock: a month ahead of today.
    const ensure = await runBilling(['partitions', 'ensure', '--months', '1'], env);
    expect(ensure.stderr).toBe('');
    expect(ensure.stdout).toMatch(/^(created usage_event_\d{4}_\d{2}(, usage_event_\d{4}_\d{2})*|every month has its partition)\n$/);

    const dry = await runBilling(['partitions', 'prune', '--dry-run', '--months', '1'], env);
    expect(dry.stderr).toBe('');
    expect(dry.stdout).toMatch(/^KEPT {8}usage_event_2026_04 {2}2026-04-01\.\.2026-05-01 {2}\d+ event\(s\) {2}customer [0-9a-f-]+: no final invoice \(issued, not void\) for the billing period from 2026-04-01 00:00Z$/m);
    expect(dry.stdout).toMatch(/^WOULD_DROP {2}usage_event_2026_06 /m);
    expect(dry.stdout).toMatch(/^retention 1 month\(s\): months ending by \S+ may go; \d+ would be dropped, \d+ kept$/m);
    expect(await names()).toContain('usage_event_2026_06');

    const off = await runBilling(['partitions', 'prune'], env);
    expect(off).toMatchObject({ code: 2, stdout: '', stderr: 'retention is off: set USAGE_RETENTION_MONTHS, or pass --months\n' });
  });
});

describe('the migration of a database with events', () => {
  it('moves every event into its month, counts nothing twice, and keeps keys and references', async () => {
    const { db, migrateRest, close } = await databaseBefore('Migration20261201000800UsageEventPartitions');
    try {
      const customer = await insertCustomer(db);
      const meter = await insertMeter(db, 'tokens');
      // Events inserted as the previous version stored them (its triggers fill the period lines and rollups).
      const event = (key: string, at: string) => ({
        id: randomUUID(), customer_id: customer, idempotency_key: key, request_hash: 'a'.repeat(64), meter_id: meter, meter_code: 'tokens', quantity: '2',
        occurred_at: at, dimensions: {}, values: {}, period_start: `${at.slice(0, 7)}-01T00:00:00Z`, currency: 'USD', wallet_id: null, amount: '1', charged: '1000000000',
        rule_set_key: 'r', rule_set_version: 1, rule_set_hash: 'b'.repeat(64), fired_rules: [], lines: [{ c: 'calls', q: '2', a: '1' }], allocations: [],
        usage_batch_id: randomUUID(), soft_limit_exceeded: false, balance_after: null, available_after: null, reservation_id: null, created_at: at,
      });
      const events = [event('k1', '2026-01-15T00:00:00Z'), event('k2', '2026-01-31T23:59:59Z'), event('k3', '2026-03-01T00:00:00Z')];
      await db.query(`insert into usage_event select * from jsonb_populate_recordset(null::usage_event, $1::jsonb)`, [JSON.stringify(events)]);
      const reservation = randomUUID();
      await db.query(
        `insert into reservation (id, customer_id, idempotency_key, request_hash, meter_code, currency, amount, hold, status, expires_at, settled_event_id, created_at, updated_at)
         values ($1, $2, 'k3', repeat('0', 64), 'tokens', 'USD', 0, '{}', 'SETTLED', now(), $3, now(), now())`,
        [reservation, customer, events[2]!.id],
      );
      const aggregates = async () => ({
        rollups: (await db.query('select bin_start, events, quantity from usage_rollup order by bin_start')).rows,
        lines: (await db.query('select period_start, n, q, a from usage_period_line order by period_start')).rows,
      });
      const before = await aggregates();
      expect(before.lines.map((r) => r.n)).toEqual(['2', '1']);

      const applied = await migrateRest();
      expect(applied[0]).toBe('Migration20261201000800UsageEventPartitions');

      const parts = (await db.query('select partition_name from usage_partitions()')).rows.map((r) => r.partition_name);
      expect(parts).toEqual(['usage_event_2026_01', 'usage_event_2026_02', 'usage_event_2026_03', 'usage_event_default']);
      const stored = (await db.query('select idempotency_key as k, tableoid::regclass::text as part from usage_event order by 1')).rows;
      expect(stored).toEqual([{ k: 'k1', part: 'usage_event_2026_01' }, { k: 'k2', part: 'usage_event_2026_01' }, { k: 'k3', part: 'usage_event_2026_03' }]);
      expect(await aggregates()).toEqual(before);
      expect((await db.query('select idempotency_key, event_id from usage_event_key order by 1')).rows).toEqual(events.map((e) => ({ idempotency_key: e.idempotency_key, event_id: e.id })));
      expect((await db.query(`select confrelid::regclass::text as target from pg_constraint where conname = 'reservation_settled_event_id_fkey'`)).rows).toEqual([{ target: 'usage_event_key' }]);

      // usage_commit on the converted table: an old key is a duplicate; a new one is counted once.
      const commitOne = async (e: Record<string, unknown>) =>
        (await db.query('select inserted from usage_commit($1::jsonb, $2, $3)', [JSON.stringify([e]), randomUUID(), '2026-03-02T00:00:00Z'])).rows[0].inserted;
      expect(await commitOne({ ...event('k1', '2026-03-02T00:00:00Z') })).toBe(false);
      expect(await commitOne({ ...event('k4', '2026-03-02T00:00:00Z') })).toBe(true);
      const after = await aggregates();
      expect(after.lines.map((r) => [r.period_start.toISOString(), r.n])).toEqual([['2026-01-01T00:00:00.000Z', '2'], ['2026-03-01T00:00:00.000Z', '2']]);
    } finally {
      await close();
    }
  });
});
