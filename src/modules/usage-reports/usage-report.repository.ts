import type { SqlParam, SqlPool } from '../../db/sql.js';
import type { Aggregation } from '../meters/index.js';

/** What to aggregate: one customer's usage in [from, to), cut at `bounds`, grouped by meter, currency and `dimensions`. */
export interface RangeQuery {
  customerId: string;
  from: Date;
  to: Date;
  /** The whole rollup bins inside [from, to); the rest is read from the events. */
  lo: Date;
  hi: Date;
  /** Bucket boundaries, ascending: bucket i (1-based) is [bounds[i-1], bounds[i]). */
  bounds: Date[];
  dimensions: string[];
  meterCodes: string[] | null;
  /** Only events whose dimension `key` has one of `values`, for every filter. */
  filters?: UsageDimensionFilter[];
}

/** A dimension and the values it may have. */
export interface UsageDimensionFilter {
  key: string;
  values: string[];
}

/** One bucket, meter, currency and dimension values. Numbers are decimal strings. */
export interface RangeRow {
  bucket: number;
  meterCode: string;
  aggregation: Aggregation;
  currency: string;
  values: Array<string | null>;
  events: string;
  quantity: string;
  maxQuantity: string;
  uniques: string;
  latest: string | null;
  amount: string;
  charged: string;
}

interface Row {
  bucket: number;
  meter_code: string;
  aggregation: Aggregation;
  currency: string;
  events: string;
  quantity: string;
  max_quantity: string;
  uniques: string;
  latest: string | null;
  amount: string;
  charged: string;
  [dimension: `d${number}`]: string | null;
}

/** Committed spend of a billing period per currency, as alerts and the spending cap count it. */
export interface PeriodSpendRow {
  currency: string;
  amount: string;
  charged: string;
  events: string;
}

/** Reads committed usage: rollup rows for whole bins, events for the edges. */
export class UsageReportRepository {
  constructor(private readonly sql: SqlPool) {}

  /**
   * Aggregates per bucket, meter, currency and dimension values, as each meter's type needs:
   * sums, the max, distinct values of the meter's property (UNIQUE_COUNT), and the quantity of
   * the latest event (LATEST, and RECURRING: the level at the bucket's end; ties broken by event id).
   */
  async aggregate(q: RangeQuery): Promise<RangeRow[]> {
    const params: SqlParam[] = [q.customerId, q.from, q.to, q.lo, q.hi, q.bounds, q.meterCodes];
    const dims = q.dimensions.map((d, i) => {
      params.push(d);
      return `s.dimensions->>$${params.length} as d${i}`;
    });
    const groupDims = q.dimensions.map((_, i) => `, d${i}`).join('');
    const filters = (q.filters ?? []).map((f) => {
      params.push(f.key, f.values);
      return ` and dimensions->>$${params.length - 1} = any ($${params.length}::text[])`;
    });
    const where = filters.join('');
    const rows = await this.sql.query<Row>(
      `with src as (
         select r.bin_start as at, r.meter_code, r.currency, r.dimensions, r.events, r.quantity, r.max_quantity, r.amount, r.charged,
                r.latest_at, r.latest_event_id, r.latest_quantity
           from usage_rollup r
          where r.customer_id = $1 and r.bin_start >= $4 and r.bin_start < $5 and ($7::text[] is null or r.meter_code = any ($7))${where.replaceAll('dimensions->>', 'r.dimensions->>')}
         union all
         select e.occurred_at, e.meter_code, e.currency, e.dimensions, 1, e.quantity, e.quantity, e.amount, e.charged,
                e.occurred_at, e.id, e.quantity
           from usage_event e
          where e.customer_id = $1 and ($7::text[] is null or e.meter_code = any ($7))${where.replaceAll('dimensions->>', 'e.dimensions->>')}
            and ((e.occurred_at >= $2 and e.occurred_at < $4) or (e.occurred_at >= $5 and e.occurred_at < $3)))
       select width_bucket(s.at, $6::timestamptz[]) as bucket, s.meter_code, m.aggregation, s.currency${dims.map((d) => `, ${d}`).join('')},
              sum(s.events)::text as events, sum(s.quantity)::text as quantity, max(s.max_quantity)::text as max_quantity,
              count(distinct s.dimensions->>m.property) filter (where m.aggregation = 'UNIQUE_COUNT')::text as uniques,
              ((array_agg(s.latest_quantity order by s.latest_at desc, s.latest_event_id desc)
                 filter (where m.aggregation in ('LATEST', 'RECURRING')))[1])::text as latest,
              sum(s.amount)::text as amount, sum(s.charged)::text as charged
         from src s join meter m on m.code = s.meter_code
        group by 1, 2, 3, 4${groupDims}
        order by 1, 2, 4${groupDims}`,
      params,
    );
    return rows.map((r) => ({
      bucket: r.bucket,
      meterCode: r.meter_code,
      aggregation: r.aggregation,
      currency: r.currency,
      values: q.dimensions.map((_, i) => r[`d${i}`] ?? null),
      events: r.events,
      quantity: r.quantity,
      maxQuantity: r.max_quantity,
      uniques: r.uniques,
      latest: r.latest,
      amount: r.amount,
      charged: r.charged,
    }));
  }

  /** Committed usage of the period starting at `periodStart`, per currency (usage_period_total). */
  periodSpend(customerId: string, periodStart: Date): Promise<PeriodSpendRow[]> {
    return this.sql.query<PeriodSpendRow>(
      `select currency, sum(amount)::text as amount, sum(charged)::text as charged, sum(events)::text as events
         from usage_period_total where customer_id = $1 and period_start = $2
        group by currency order by currency`,
      [customerId, periodStart],
    );
  }
}
