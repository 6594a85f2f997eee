import { Migration } from '@mikro-orm/migrations';
import { sqlFunction, sqlTrigger } from '../src/db/sql-files.js';

/**
 * usage_event, partitioned by month: years of events stay cheap to keep, to query and to let go.
 *
 * - Partition key: occurred_at, by UTC calendar month (usage_event_yyyy_mm), with a DEFAULT
 *   partition (usage_event_default) for events of a month that has no partition yet, so that
 *   no event is ever refused for want of one. The hot reads filter on occurred_at (usage
 *   reports over a time range) or on a billing period, whose events all happen at or after its
 *   start (those reads also say `occurred_at >= period_start`), so they scan the months they
 *   need. The service creates partitions ahead (usage_partitions_ensure, at start and daily,
 *   from the oldest timestamp it accepts to USAGE_PARTITIONS_AHEAD_MONTHS ahead); a month
 *   created after some of its events reached the default partition takes them over.
 *   This migration creates only the months the existing events fall in, so that a fresh
 *   database (and schema.sql) does not depend on the day it was migrated.
 * - Idempotency: a unique constraint of a partitioned table must include its partition key, so
 *   (customer_id, idempotency_key) moves to usage_event_key, a narrow table that is neither
 *   partitioned nor pruned, filled in the inserting statement by the usage_event_keys trigger
 *   (src/db/functions/usage_event_key_add.sql): a key is refused across every month, and after
 *   retention has dropped its event.
 * - reservation.settled_event_id: a foreign key to a partitioned table must name a unique key
 *   holding the partition key, and would forbid dropping a month that a settled reservation
 *   points into. It references usage_event_key (event_id) instead: every committed event id is
 *   there, for good.
 * - usage_event keeps a primary key (id, occurred_at), its two indexes, its foreign keys and its
 *   triggers, all on the partitioned table (PostgreSQL gives each partition its own). The
 *   statement triggers see every row inserted through usage_event, whichever partition it lands
 *   in.
 *
 * Existing events are copied into their months under an ACCESS EXCLUSIVE lock (commits wait),
 * then indexed; the statement triggers are created after the copy, so the totals and rollups,
 * which already count those events, are not touched. Other tables that grow with usage are not
 * partitioned: ledger_entry grows per commit, wallet and block (not per event) and is the money
 * record, kept for good; usage_rollup and the period totals are the aggregates retention keeps.
 */
export class Migration20261201000800UsageEventPartitions extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
lock table usage_event in access exclusive mode;
alter table reservation drop constraint reservation_settled_event_id_fkey;
alter table usage_event rename to usage_event_unpartitioned;

create table usage_event (like usage_event_unpartitioned including defaults including constraints) partition by range (occurred_at);
create table usage_event_default partition of usage_event default;

-- Kept by down(), hence "if not exists" (and the backfill's "on conflict").
create table if not exists usage_event_key (
  customer_id uuid not null,
  idempotency_key varchar(255) not null,
  event_id uuid not null,
  occurred_at timestamptz not null,
  constraint usage_event_key_pkey primary key (customer_id, idempotency_key),
  constraint usage_event_key_event unique (event_id)
);
`);
    this.addSql(sqlFunction('usage_partitions'));
    this.addSql(sqlFunction('usage_partitions_ensure'));
    this.addSql(sqlFunction('usage_partitions_prune'));
    this.addSql(`
select usage_partitions_ensure(min(occurred_at), max(occurred_at) + interval '1 millisecond') from usage_event_unpartitioned;
insert into usage_event select * from usage_event_unpartitioned;
insert into usage_event_key (customer_id, idempotency_key, event_id, occurred_at)
select customer_id, idempotency_key, id, occurred_at from usage_event_unpartitioned
on conflict (customer_id, idempotency_key) do nothing;
drop table usage_event_unpartitioned;

alter table usage_event add constraint usage_event_pkey primary key (id, occurred_at);
create index usage_event_customer_time on usage_event (customer_id, occurred_at);
create index usage_event_customer_period on usage_event (customer_id, period_start);
alter table usage_event add constraint usage_event_customer_id_fkey foreign key (customer_id) references customer (id);
alter table usage_event add constraint usage_event_meter_id_fkey foreign key (meter_id) references meter (id);
alter table usage_event add constraint usage_event_wallet_id_fkey foreign key (wallet_id) references wallet (id);
alter table reservation add constraint reservation_settled_event_id_fkey foreign key (settled_event_id) references usage_event_key (event_id);
`);
    this.addSql(sqlFunction('usage_event_key_add'));
    this.addSql(sqlFunction('usage_commit'));
    this.addSql(sqlFunction('alert_evaluate'));
    for (const trigger of ['usage_event_append_only', 'usage_event_keys', 'usage_event_period_line', 'usage_event_rollup', 'usage_event_spending_cap']) {
      this.addSql(sqlTrigger(trigger));
    }
  }

  /**
   * Back to one table. usage_event_key and its trigger stay: usage_commit, whose file this
   * migration's version needs, looks keys up there, and so does the foreign key of reservation.
   */
  override async down(): Promise<void> {
    this.addSql(`
lock table usage_event in access exclusive mode;
create table usage_event_unpartitioned (like usage_event including defaults including constraints);
insert into usage_event_unpartitioned select * from usage_event;
drop table usage_event;
drop function usage_partitions_prune(timestamptz, boolean);
drop function usage_partitions_ensure(timestamptz, timestamptz);
drop function usage_partitions();
alter table usage_event_unpartitioned rename to usage_event;
alter table usage_event add constraint usage_event_pkey primary key (id);
alter table usage_event add constraint usage_event_idempotency_key unique (customer_id, idempotency_key);
create index usage_event_customer_time on usage_event (customer_id, occurred_at);
create index usage_event_customer_period on usage_event (customer_id, period_start);
alter table usage_event add constraint usage_event_customer_id_fkey foreign key (customer_id) references customer (id);
alter table usage_event add constraint usage_event_meter_id_fkey foreign key (meter_id) references meter (id);
alter table usage_event add constraint usage_event_wallet_id_fkey foreign key (wallet_id) references wallet (id);
`);
    for (const trigger of ['usage_event_append_only', 'usage_event_keys', 'usage_event_period_line', 'usage_event_rollup', 'usage_event_spending_cap']) {
      this.addSql(sqlTrigger(trigger));
    }
  }
}
