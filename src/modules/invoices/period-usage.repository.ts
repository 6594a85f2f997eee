import type { SqlClient } from '../../db/sql.js';
import { Decimal } from '../../shared/money/decimal.js';
import type { PeriodPayments } from './prepaid-items.js';
import type { LatestValue, UsageGroup } from './usage-items.js';

export interface PeriodUsage extends PeriodPayments {
  groups: UsageGroup[];
  /** LATEST meters: each counter's last value. */
  latest: LatestValue[];
  /** Committed events of the period (all meters), read in the same snapshot. */
  seen: number;
}

/**
 * One statement, so one snapshot, and one pass over the period's events: every priced line (with
 * each of its tier parts) and every wallet allocation becomes a row, and one hash aggregation
 * sums them by meter, rule-set version, presented dimensions, line, tier, or credit block. A
 * line's own figures count on its first tier row only. The committed event count
 * (usage_period_total, written in the same commit as the events) comes with it.
 */
const periodUsageSql = (dims: string) => `
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

/**
 * LATEST meters: per rule set, charge and counter, the quantity of the period's last event (by
 * time, then id), with the version and adjustments that priced it.
 */
const latestSql = `
select distinct on (e.rule_set_key, l->>'c', l->>'ck')
       e.rule_set_key, e.rule_set_version, l->>'c' as c, l->>'ck' as ck, e.quantity::text as q, coalesce(l->'adj', '[]'::jsonb) as adj
  from usage_event e cross join lateral jsonb_array_elements(e.lines) l
 where e.customer_id = $1 and e.period_start = $2 and e.currency = $3 and e.meter_code = any($4::text[]) and l ? 'ck'
 order by e.rule_set_key, l->>'c', l->>'ck', e.occurred_at desc, e.id desc`;

/**
 * The SQL expression of an event's presented dimensions: per meter, only the keys its plan
 * charges group by (keys and meter codes travel as parameters, appended to `params`).
 */
function presentedDimensions(groupBy: Record<string, string[]>, params: unknown[]): string {
  const arg = (v: string) => {
    params.push(v);
    return `$${params.length}::text`;
  };
  const cases = Object.entries(groupBy)
    .filter(([, keys]) => keys.length > 0)
    .map(([meter, keys]) => `when ${arg(meter)} then jsonb_strip_nulls(jsonb_build_object(${keys.map((k) => { const p = arg(k); return `${p}, e.dimensions -> ${p}`; }).join(', ')}))`);
  return cases.length === 0 ? `'{}'::jsonb` : `case e.meter_code ${cases.join(' ')} else '{}'::jsonb end`;
}

interface RowJson {
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

const groupKey = (g: RowJson) =>
  JSON.stringify([g.meter_code, g.rule_set_key, g.rule_set_version, g.dims, g.c, g.p, g.ck, g.adj]);

/** Reads what a billing period's committed usage adds up to, inside the caller's transaction. */
export class PeriodUsageRepository {
  /** Callers pass a transaction's client: `set local` keeps the setting to it. */
  async periodUsage(client: SqlClient, customerId: string, periodStart: Date, currency: string, groupBy: Record<string, string[]>, latestMeters: string[] = []): Promise<PeriodUsage> {
    // The planner cannot see how many lines a jsonb array holds (it assumes 100 per event), so
    // its estimates run to millions of rows and it would spend a second JIT-compiling a query
    // that runs in milliseconds.
    // For the same reason it would sort the lines to group them (spilling to disk for a large
    // customer) where hashing the few groups a period has is much cheaper.
    await client.query(`set local jit = off; set local enable_sort = off; set local work_mem = '64MB'`);
    const params: unknown[] = [customerId, periodStart, currency];
    const text = periodUsageSql(presentedDimensions(groupBy, params));
    const { rows } = await client.query<{ rows: RowJson[]; paid: Array<{ kind: 'MAIN' | 'GRANT'; units: string }>; seen: string; charged: string }>(text, params as never[]);
    await client.query('reset enable_sort; reset work_mem');
    const latest =
      latestMeters.length === 0
        ? []
        : (await client.query<{ rule_set_key: string; rule_set_version: number; c: string; ck: string; q: string; adj: string[] }>(latestSql, [customerId, periodStart, currency, latestMeters])).rows;
    const r = rows[0]!;
    const groups = new Map<string, UsageGroup>();
    for (const row of r.rows) {
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
    return {
      groups: [...groups.values()],
      latest: latest.map((l) => ({ ruleSetKey: l.rule_set_key, ruleSetVersion: l.rule_set_version, component: l.c, counterKey: l.ck, value: new Decimal(l.q), adjustments: l.adj })),
      paid: r.paid.map((p) => ({ kind: p.kind, units: BigInt(p.units) })),
      charged: BigInt(r.charged),
      seen: Number(r.seen),
    };
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
