import type { SqlParam, SqlPool } from '../../db/sql.js';
import { toUsageEventRecord, type UsageEventRecord, type UsageEventRow } from '../usage/index.js';
import type { UsageDimensionFilter } from './usage-report.repository.js';

/** Newest first (timestamp, then id, descending) or oldest first (both ascending). */
export type UsageEventOrder = 'NEWEST_FIRST' | 'OLDEST_FIRST';

/** Where a page starts: after the event with this timestamp (exact, to the microsecond) and id. */
export interface UsageEventPosition {
  /** `occurred_at` as PostgreSQL wrote it in UTC, `YYYY-MM-DDTHH:MM:SS.ffffffZ`: a JS Date would lose its microseconds. */
  at: string;
  id: string;
}

export interface UsageEventListQuery {
  customerId: string | null;
  meterCode: string | null;
  /** `[from, to)` on the event's timestamp; the service requires both without a customer. */
  from: Date | null;
  to: Date | null;
  filters: UsageDimensionFilter[];
  order: UsageEventOrder;
  after: UsageEventPosition | null;
  /** Rows to return; one more is read to know whether another page follows. */
  first: number;
}

export interface UsageEventListRow {
  event: UsageEventRecord;
  position: UsageEventPosition;
}

/**
 * Lists committed usage events, a page at a time, keyset-paginated on (occurred_at, id): a page
 * starts strictly after the last row of the one before, so events committed meanwhile neither
 * repeat nor hide rows (one that falls before the position shows on a later page, one after it
 * never does). With a customer, the scan walks the index (customer_id, occurred_at) of each
 * monthly partition of usage_event in order and stops after `first + 1` rows; the time range,
 * when given, prunes the partitions. Without a customer, the range (bounded by the service)
 * prunes them to a few, which are read whole.
 */
export class UsageEventListRepository {
  constructor(private readonly sql: SqlPool) {}

  async list(q: UsageEventListQuery): Promise<{ rows: UsageEventListRow[]; hasNextPage: boolean }> {
    const params: SqlParam[] = [];
    const p = (value: SqlParam): string => {
      params.push(value);
      return `$${params.length}`;
    };
    const where: string[] = [];
    if (q.customerId !== null) where.push(`e.customer_id = ${p(q.customerId)}::uuid`);
    // Every customer's events are the live customers': a test clock's are listed by its customer.
    else where.push('e.customer_id not in (select t.id from customer t where t.test_clock_id is not null)');
    if (q.meterCode !== null) where.push(`e.meter_code = ${p(q.meterCode)}`);
    if (q.from) where.push(`e.occurred_at >= ${p(q.from)}`);
    if (q.to) where.push(`e.occurred_at < ${p(q.to)}`);
    for (const f of q.filters) where.push(`e.dimensions->>${p(f.key)} = any(${p(f.values)}::text[])`);
    const desc = q.order === 'NEWEST_FIRST';
    if (q.after) {
      const at = p(q.after.at);
      const id = p(q.after.id);
      // The first condition alone is what the index can range over; the row comparison breaks ties.
      where.push(`e.occurred_at ${desc ? '<=' : '>='} ${at}::timestamptz and (e.occurred_at, e.id) ${desc ? '<' : '>'} (${at}::timestamptz, ${id}::uuid)`);
    }
    const direction = desc ? 'desc' : 'asc';
    const rows = await this.sql.query<UsageEventRow & { position_at: string }>(
      `select e.*, to_char(e.occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as position_at
         from usage_event e
        ${where.length > 0 ? `where ${where.join(' and ')}` : ''}
        order by e.occurred_at ${direction}, e.id ${direction}
        limit ${p(q.first + 1)}`,
      params,
    );
    return {
      rows: rows.slice(0, q.first).map((r) => ({ event: toUsageEventRecord(r), position: { at: r.position_at, id: r.id } })),
      hasNextPage: rows.length > q.first,
    };
  }
}
