import { Migration } from '@mikro-orm/migrations';
import { sqlFunction, sqlTrigger } from '../src/db/sql-files.js';

/**
 * Usage rollups: committed usage pre-aggregated per customer, 15-minute bin, meter, currency
 * and dimension set, so usage queries over a month read thousands of rows, not millions.
 *
 * - Bins are 15 minutes of UTC time (date_bin from 2000-01-01T00:00Z). Every time zone in use
 *   is offset from UTC by a multiple of 15 minutes, so every local hour, day and month is a
 *   whole number of bins: buckets in any customer's zone are exact, and stay exact when the
 *   customer's zone changes (bins do not depend on it).
 * - A row keeps what each meter aggregation needs: events, sum and max of quantity, the exact
 *   amount and the charge (ledger units), and the latest event (time, id, quantity; ties broken
 *   by id). The full dimension set is kept, so distinct values of any dimension (UNIQUE_COUNT)
 *   are exact per bucket. The key holds a SHA-256 of the dimension set rather than the set
 *   (which may exceed a btree row).
 * - A statement-level trigger on usage_event keeps the rows in the transaction that inserts the
 *   events (usage_commit, whatever its version), one upsert per statement, in key order. Events
 *   are immutable (usage_event refuses update and delete), so inserts are the only change.
 *   No foreign key: every row comes from events whose customer usage_event already checks, and
 *   a key check per new row would cost up to one lookup per event of a commit.
 *
 * Existing events are backfilled here.
 */
const BIN = `date_bin('15 minutes', n.occurred_at, timestamptz '2000-01-01 00:00:00+00')`;

/** Aggregates usage_event rows (aliased n) into rollup rows. */
const rollupOf = (source: string) => `
select n.customer_id, ${BIN}, n.meter_code, n.currency, sha256(convert_to(n.dimensions::text, 'UTF8')), n.dimensions,
       count(*), sum(n.quantity), max(n.quantity), sum(n.amount), sum(n.charged), max(n.occurred_at),
       (array_agg(n.id order by n.occurred_at desc, n.id desc))[1],
       (array_agg(n.quantity order by n.occurred_at desc, n.id desc))[1]
  from ${source} n
 group by n.customer_id, ${BIN}, n.meter_code, n.currency, n.dimensions
 order by 1, 2, 3, 4, 5`;

const COLUMNS = `customer_id, bin_start, meter_code, currency, dimensions_key, dimensions, events, quantity, max_quantity, amount, charged,
  latest_at, latest_event_id, latest_quantity`;

export class Migration20261122000700UsageRollups extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
create table usage_rollup (
  customer_id uuid not null,
  bin_start timestamptz not null,
  meter_code varchar(64) not null,
  currency varchar(32) not null,
  dimensions_key bytea not null,
  dimensions jsonb not null,
  events bigint not null,
  quantity numeric not null,
  max_quantity numeric not null,
  amount numeric not null,
  charged bigint not null,
  latest_at timestamptz not null,
  latest_event_id uuid not null,
  latest_quantity numeric not null,
  primary key (customer_id, bin_start, meter_code, currency, dimensions_key)
);

${sqlFunction('usage_rollup_add')}

${sqlTrigger('usage_event_rollup')}

insert into usage_rollup (${COLUMNS})
${rollupOf('usage_event')};
`);
  }

  override async down(): Promise<void> {
    this.addSql(`
drop trigger usage_event_rollup on usage_event;
drop function usage_rollup_add();
drop table usage_rollup;
`);
  }
}
