import { createHash } from 'node:crypto';
import type { SqlClient } from '../../db/sql.js';
import { AppError, ErrorCode } from '../../shared/errors.js';
import { Decimal } from '../../shared/money/decimal.js';
import type { PeriodPayments } from './prepaid-items.pure.js';
import type { LatestValue, MeterLevels, UsageGroup } from './usage-items.pure.js';

export interface PeriodUsage extends PeriodPayments {
  groups: UsageGroup[];
  /** LATEST meters: each counter's last value. */
  latest: LatestValue[];
  /** Committed events of the period (all meters), read in the same snapshot. */
  seen: number;
}

/**
 * One statement, so one snapshot, over the period's totals (usage_period_line, _paid, _latest),
 * which the usage_period_line_add trigger keeps in the commit of the events: a few rows per
 * customer and period however many events it holds. The rows hold each full dimension set; the
 * dimensions the invoice presents are chosen here and the rows re-summed by them (numeric sums,
 * exact). A UNIQUE_COUNT meter's rows leave out its property (`folded`): when an invoice
 * presents that dimension, the meter's lines are read from its events instead (`raw_meter`),
 * from the months at or after the period start (usage_event is partitioned by month of
 * occurred_at), and their lines counted against the period's rows (`short`): retention may
 * have dropped the events of an old period, and an invoice recomputed from what is left would
 * be wrong.
 * The committed event count (usage_period_total, written in the same commit as the events)
 * comes with it. Rows come in a fixed order (meter, rule set, presented dimensions, line), which
 * is the order of the invoice's usage lines.
 */
const periodUsageSql = (dims: string) => `
with own as (
  select * from usage_period_line where customer_id = $1 and period_start = $2 and currency = $3
), raw_meter as (
  select distinct meter_code from own where folded is not null and coalesce($5::jsonb -> meter_code, '[]'::jsonb) ? folded
), part as (
  select o.meter_code, o.rule_set_key, o.rule_set_version, o.rule_set_hash, o.dimensions, o.c, o.p, o.ck, o.adj, o.tier, o.unit_price,
         o.n, o.q, o.a, o.b, o.cd, o.tq, o.tf, o.ta
    from own o
   where o.meter_code not in (select meter_code from raw_meter)
  union all
  select e.meter_code, e.rule_set_key, e.rule_set_version, e.rule_set_hash, e.dimensions, l->>'c', coalesce(l ? 'p', false), l->>'ck',
         coalesce(l->'adj', '[]'::jsonb), (t.tp->>0)::int, t.tp->>2,
         h.head::int, case when h.head then (l->>'q')::numeric end, case when h.head then (l->>'a')::numeric end,
         case when h.head then coalesce(l->>'b', l->>'a')::numeric end, case when h.head then (l->>'cd')::numeric end,
         (t.tp->>1)::numeric, (t.tp->>3)::numeric, (t.tp->>4)::numeric
    from raw_meter r
   cross join lateral (select * from usage_event e
                        where e.customer_id = $1 and e.period_start = $2 and e.occurred_at >= $2 and e.currency = $3 and e.meter_code = r.meter_code) e
   cross join lateral jsonb_array_elements(e.lines) l
    left join lateral jsonb_array_elements(l->'t') with ordinality t(tp, ord) on true
   cross join lateral (select coalesce(t.ord, 1) = 1 as head) h
), agg as (
  select x.meter_code, x.rule_set_key, x.rule_set_version, x.rule_set_hash, ${dims} as dims, x.c, x.p, x.ck, x.adj, x.tier, x.unit_price,
         sum(x.n) as n, coalesce(sum(x.q), 0)::text as q, coalesce(sum(x.a), 0)::text as a, coalesce(sum(x.b), 0)::text as b,
         coalesce(sum(x.cd), 0)::text as cd, sum(x.tq)::text as tq, sum(x.tf)::text as tf, sum(x.ta)::text as ta
    from part x
   group by 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
)
select (select coalesce(jsonb_agg(g order by g.meter_code, g.rule_set_key, g.dims, g.c, g.rule_set_version, g.rule_set_hash, g.p, g.ck, g.adj, g.tier, g.unit_price), '[]'::jsonb)
          from agg g) as rows,
       (select coalesce(jsonb_agg(jsonb_build_object('kind', y.kind, 'units', y.units) order by y.kind), '[]'::jsonb)
          from (select b.kind, sum(p.units)::text as units from usage_period_paid p join credit_block b on b.id = p.block_id
                 where p.customer_id = $1 and p.period_start = $2 and p.currency = $3 group by b.kind) y) as paid,
       (select coalesce(jsonb_agg(z order by z.rule_set_key, z.c, z.ck), '[]'::jsonb)
          from (select distinct on (t.rule_set_key, t.c, t.ck) t.rule_set_key, t.rule_set_version, t.c, t.ck, t.quantity::text as q, t.adj
                  from usage_period_latest t
                 where t.customer_id = $1 and t.period_start = $2 and t.currency = $3 and t.meter_code = any($4::text[])
                 order by t.rule_set_key, t.c, t.ck, t.latest_at desc, t.latest_event_id desc) z) as latest,
       (select coalesce(sum(events), 0)::text from usage_period_total where customer_id = $1 and period_start = $2 and currency = $3) as seen,
       (select coalesce(sum(charged), 0)::text from usage_period_total where customer_id = $1 and period_start = $2 and currency = $3) as charged,
       (select coalesce(jsonb_agg(r.meter_code order by r.meter_code), '[]'::jsonb) from raw_meter r
         where (select coalesce(sum(o.n), 0) from own o where o.meter_code = r.meter_code)
            <> (select coalesce(sum(x.n), 0) from part x where x.meter_code = r.meter_code)) as short`;

/**
 * The SQL expression of a period row's presented dimensions (row alias x): per meter, only the
 * keys its plan charges group by (keys and meter codes travel as parameters, appended to `params`).
 */
function presentedDimensions(groupBy: Record<string, string[]>, params: unknown[]): string {
  const arg = (v: string) => {
    params.push(v);
    return `$${params.length}::text`;
  };
  const cases = Object.entries(groupBy)
    .filter(([, keys]) => keys.length > 0)
    .map(([meter, keys]) => `when ${arg(meter)} then jsonb_strip_nulls(jsonb_build_object(${keys.map((k) => { const p = arg(k); return `${p}, x.dimensions -> ${p}`; }).join(', ')}))`);
  return cases.length === 0 ? `'{}'::jsonb` : `case x.meter_code ${cases.join(' ')} else '{}'::jsonb end`;
}

interface LatestJson {
  rule_set_key: string;
  rule_set_version: number;
  c: string;
  ck: string;
  q: string;
  adj: string[];
}

export interface PeriodUsageRow {
  meter_code: string;
  rule_set_key: string;
  rule_set_version: number;
  rule_set_hash: string;
  dims: Record<string, string>;
  c: string;
  p: boolean;
  ck: string | null;
  adj: string[];
  tier: number | null;
  unit_price: string | null;
  n: number;
  q: string;
  a: string;
  b: string;
  cd: string;
  tq: string | null;
  tf: string | null;
  ta: string | null;
}

const groupKey = (g: PeriodUsageRow) =>
  JSON.stringify([g.meter_code, g.rule_set_key, g.rule_set_version, g.dims, g.c, g.p, g.ck, g.adj]);

/** Reads what a billing period's committed usage adds up to, inside the caller's transaction. */
/** A period's rows as usage groups: one per meter, rule-set version, presentation and line, with its tier parts. */
export function usageGroups(rows: PeriodUsageRow[]): UsageGroup[] {
  const groups = new Map<string, UsageGroup>();
  for (const row of rows) {
    const k = groupKey(row);
    let g = groups.get(k);
    if (!g) {
      g = {
        meterCode: row.meter_code,
        ruleSetKey: row.rule_set_key,
        ruleSetVersion: row.rule_set_version,
        ruleSetHash: row.rule_set_hash,
        dimensions: row.dims,
        component: row.c,
        provisional: row.p,
        counterKey: row.ck,
        adjustments: row.adj,
        events: 0,
        quantity: new Decimal(0),
        amount: new Decimal(0),
        base: new Decimal(0),
        counted: new Decimal(0),
        tiers: [],
      };
      groups.set(k, g);
    }
    g.events += Number(row.n);
    g.quantity = g.quantity.plus(row.q);
    g.amount = g.amount.plus(row.a);
    g.base = g.base.plus(row.b);
    g.counted = g.counted.plus(row.cd);
    if (row.tier !== null) {
      g.tiers.push({ tier: row.tier, unitPrice: new Decimal(row.unit_price!), flatFee: new Decimal(row.tf!), quantity: new Decimal(row.tq!), amount: new Decimal(row.ta!) });
    }
  }
  return [...groups.values()];
}

export class PeriodUsageRepository {
  /** Callers pass a transaction's client: `set local` keeps the setting to it. */
  async periodUsage(client: SqlClient, customerId: string, periodStart: Date, currency: string, groupBy: Record<string, string[]>, latestMeters: string[] = []): Promise<PeriodUsage> {
    // The fallback over events (a UNIQUE_COUNT meter presented by its property) is in every plan,
    // and the planner, which cannot see how many lines a jsonb array holds (it assumes 100 per
    // event), costs it at millions of rows: it would spend a second JIT-compiling a statement
    // that reads a few rows.
    await client.query('set local jit = off');
    const params: unknown[] = [customerId, periodStart, currency, latestMeters, JSON.stringify(groupBy)];
    const text = periodUsageSql(presentedDimensions(groupBy, params));
    // A named statement: each connection plans it once per presentation, not on every read.
    const name = `period_usage_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`;
    const { rows } = await client.query<{ rows: PeriodUsageRow[]; paid: Array<{ kind: 'MAIN' | 'GRANT'; units: string }>; latest: LatestJson[]; seen: string; charged: string; short: string[] }>({ name, text, values: params });
    const r = rows[0]!;
    if (r.short.length > 0) {
      throw new AppError(
        ErrorCode.EVENTS_NOT_RETAINED,
        `the events of meter(s) ${r.short.join(', ')} in the period from ${periodStart.toISOString()} were dropped by retention (USAGE_RETENTION_MONTHS): its lines by their property cannot be recomputed`,
        { meters: r.short, periodStart: periodStart.toISOString() },
      );
    }
    return {
      groups: usageGroups(r.rows),
      latest: r.latest.map((l) => ({ ruleSetKey: l.rule_set_key, ruleSetVersion: l.rule_set_version, component: l.c, counterKey: l.ck, value: new Decimal(l.q), adjustments: l.adj })),
      paid: r.paid.map((p) => ({ kind: p.kind, units: BigInt(p.units) })),
      charged: BigInt(r.charged),
      seen: Number(r.seen),
    };
  }

  /**
   * RECURRING meters (by code): the level carried into the period [start, end) (the last set
   * before its start) and the levels set in it, by time then event id, from meter_level, which
   * retention keeps. Meters with neither are left out.
   */
  async meterLevels(client: SqlClient, customerId: string, start: Date, end: Date, meterCodes: string[]): Promise<MeterLevels[]> {
    if (meterCodes.length === 0) return [];
    const { rows } = await client.query<{ meter_code: string; carried: boolean; set_at: Date; level: string; dimensions: Record<string, string> }>(
      `select m.code as meter_code, true as carried, k.set_at, k.level::text as level, k.dimensions, k.event_id
         from meter m
         cross join lateral (select l.set_at, l.event_id, l.level, l.dimensions from meter_level l
                              where l.customer_id = $1 and l.meter_id = m.id and l.set_at < $2
                              order by l.set_at desc, l.event_id desc limit 1) k
        where m.code = any($4::text[]) and m.aggregation = 'RECURRING'
       union all
       select m.code, false, l.set_at, l.level::text, l.dimensions, l.event_id
         from meter m join meter_level l on l.meter_id = m.id
        where m.code = any($4::text[]) and m.aggregation = 'RECURRING' and l.customer_id = $1 and l.set_at >= $2 and l.set_at < $3
        order by 1, 2 desc, 3, 6`,
      [customerId, start, end, meterCodes],
    );
    const out = new Map<string, MeterLevels>();
    for (const r of rows) {
      const m = out.get(r.meter_code) ?? { meterCode: r.meter_code, carried: null, changes: [] };
      const set = { at: r.set_at, level: new Decimal(r.level), dimensions: r.dimensions };
      if (r.carried) m.carried = set;
      else m.changes.push(set);
      out.set(r.meter_code, m);
    }
    return [...out.values()];
  }

  /** Committed events per period start (ISO) of a customer, for periods with invoices to check. */
  async usageCounts(client: SqlClient, customerId: string, currency: string): Promise<Map<string, number>> {
    const { rows } = await client.query<{ period_start: Date; events: string }>(
      'select period_start, sum(events)::text as events from usage_period_total where customer_id = $1 and currency = $2 group by period_start',
      [customerId, currency],
    );
    return new Map(rows.map((r) => [r.period_start.toISOString(), Number(r.events)]));
  }
}
