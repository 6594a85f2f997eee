import { Migration } from '@mikro-orm/migrations';
import { sqlFunction, sqlTrigger } from '../src/db/sql-files.js';

/**
 * RECURRING meters (seats, reserved capacity): a level held until changed, billed for the time it
 * was held. The aggregation joins meter_aggregation_check (its property rule is SUM's: an optional
 * label). An event of such a meter sets the level, and 0 (every seat removed) is a level: the
 * event quantity check becomes quantity >= 0, and the application keeps refusing 0 for every other
 * aggregation (on the partitioned table, the check changes on every partition with it).
 * meter_level keeps every level set, outside the partitions retention drops, written by the
 * usage_event_meter_level trigger.
 */
export class Migration20261201011000RecurringMeters extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
alter table meter drop constraint meter_aggregation_check;
alter table meter add constraint meter_aggregation_check check (aggregation in ('COUNT', 'SUM', 'MAX', 'UNIQUE_COUNT', 'LATEST', 'RECURRING'));

alter table usage_event drop constraint usage_event_quantity_check;
alter table usage_event add constraint usage_event_quantity_check check (quantity >= 0);

create table meter_level (
  customer_id uuid not null,
  meter_id uuid not null,
  set_at timestamptz not null,
  event_id uuid not null,
  level numeric(30, 9) not null check (level >= 0),
  dimensions jsonb not null,
  counters text[] not null,
  primary key (customer_id, meter_id, set_at, event_id)
);
comment on table meter_level is 'Every level a RECURRING meter was set to, per customer: kept beyond usage retention, so a level carries over into later periods.';
`);
    this.addSql(sqlFunction('meter_level_add'));
    this.addSql(sqlTrigger('usage_event_meter_level'));
  }

  override async down(): Promise<void> {
    this.addSql(`
drop trigger if exists usage_event_meter_level on usage_event;
drop function if exists meter_level_add();
drop table if exists meter_level;
alter table usage_event drop constraint usage_event_quantity_check;
alter table usage_event add constraint usage_event_quantity_check check (quantity > 0);
alter table meter drop constraint meter_aggregation_check;
alter table meter add constraint meter_aggregation_check check (aggregation in ('COUNT', 'SUM', 'MAX', 'UNIQUE_COUNT', 'LATEST'));
`);
  }
}
