import { Migration } from '@mikro-orm/migrations';
import { sqlFunction, sqlTrigger } from '../src/db/sql-files.js';

/**
 * Spending caps held by PostgreSQL as well as by the reservation store: postpaid spend per
 * customer, period and currency, kept by a statement trigger on usage_event that refuses a
 * commit taking it past the customer's cap (src/db/functions/spending_cap_guard.sql).
 */
export class Migration20261201000400SpendingCapGuard extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
create table postpaid_spend (
  customer_id uuid not null references customer (id),
  period_start timestamptz not null,
  currency varchar(32) not null,
  charged bigint not null,
  primary key (customer_id, period_start, currency)
);
insert into postpaid_spend (customer_id, period_start, currency, charged)
select customer_id, period_start, currency, sum(charged) from usage_event where wallet_id is null group by 1, 2, 3;
`);
    this.addSql(sqlFunction('spending_cap_guard'));
    this.addSql(sqlTrigger('usage_event_spending_cap'));
  }

  override async down(): Promise<void> {
    this.addSql(`drop trigger usage_event_spending_cap on usage_event; drop function spending_cap_guard(); drop table postpaid_spend;`);
  }
}
