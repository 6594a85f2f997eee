import { Migration } from '@mikro-orm/migrations';
import { sqlFunction } from '../src/db/sql-files.js';

/**
 * Test clocks: a clock an ADMIN creates and moves forward, and customers on it (customer
 * test_clock_id), whose usage, billing periods, invoices, alerts and dunning run at the clock's
 * frozen time instead of the real one. `number` names the clock in its customers' invoice
 * numbers (TEST_<number>-0001), which never share the live numbering. alert_evaluate evaluates
 * a clock's customers at its frozen time.
 */
export class Migration20261201013000TestClocks extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
create table test_clock (
  id uuid primary key,
  number bigint generated always as identity unique,
  name varchar(100) not null,
  frozen_time timestamptz not null,
  created_at timestamptz not null,
  updated_at timestamptz not null
);
alter table customer add column test_clock_id uuid references test_clock (id);
create index customer_test_clock_idx on customer (test_clock_id) where test_clock_id is not null;
`);
    this.addSql(sqlFunction('alert_evaluate'));
  }

  override async down(): Promise<void> {
    this.addSql(`alter table customer drop column test_clock_id; drop table test_clock;`);
  }
}
