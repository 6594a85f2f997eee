import type { SqlPool } from '../../db/sql.js';

/** One partition of usage_event; the default one has no range. */
export interface PartitionRow {
  name: string;
  rangeStart: Date | null;
  rangeEnd: Date | null;
  /** PostgreSQL's estimate of its rows (null before the table was first analysed). */
  estimatedEvents: string | null;
  /** On disk, with its indexes. */
  bytes: string;
}

/** What retention did, or would do, with one partition, and why. */
export interface PruneRow {
  name: string;
  rangeStart: Date | null;
  rangeEnd: Date | null;
  /** Counted for the partitions old enough to be looked at. */
  events: string | null;
  action: 'DROPPED' | 'WOULD_DROP' | 'KEPT';
  reason: string;
}

/**
 * usage_event's monthly partitions, through the SQL functions that own them
 * (src/db/functions/usage_partitions*.sql): each call is one transaction, under the advisory
 * lock those functions share.
 */
export class UsagePartitionRepository {
  constructor(private readonly sql: SqlPool) {}

  /** Creates the partitions the months overlapping [from, to) lack; returns their names. */
  async ensure(from: Date, to: Date): Promise<string[]> {
    const rows = await this.sql.query<{ name: string }>('select usage_partitions_ensure($1, $2) as name', [from, to]);
    return rows.map((r) => r.name);
  }

  async list(): Promise<PartitionRow[]> {
    const rows = await this.sql.query<{ name: string; range_start: Date | null; range_end: Date | null; estimated: string | null; bytes: string }>(
      `select p.partition_name as name, p.range_start, p.range_end,
              case when c.reltuples >= 0 then c.reltuples::bigint::text end as estimated,
              pg_total_relation_size(c.oid)::text as bytes
         from usage_partitions() p join pg_class c on c.oid = p.partition_name::regclass`,
    );
    return rows.map((r) => ({ name: r.name, rangeStart: r.range_start, rangeEnd: r.range_end, estimatedEvents: r.estimated, bytes: r.bytes }));
  }

  /** Drops (or, with dryRun, names) the months ending by `before` whose events are all invoiced and final. */
  async prune(before: Date, dryRun: boolean): Promise<PruneRow[]> {
    const rows = await this.sql.query<{ partition_name: string; range_start: Date | null; range_end: Date | null; events: string | null; action: PruneRow['action']; reason: string }>(
      'select * from usage_partitions_prune($1, $2)',
      [before, dryRun],
    );
    return rows.map((r) => ({ name: r.partition_name, rangeStart: r.range_start, rangeEnd: r.range_end, events: r.events, action: r.action, reason: r.reason }));
  }
}
