import { Migration } from '@mikro-orm/migrations';

/**
 * subscription.billing_day: the day of the month (1-31) on which CALENDAR monthly, quarterly and
 * yearly periods start, the last day of a shorter month when it has no such day; null keeps the
 * 1st. Only CALENDAR subscriptions carry one.
 */
export class Migration20261201007000SubscriptionBillingDay extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
alter table subscription
  add column billing_day smallint,
  add constraint subscription_billing_day check (billing_day is null or (billing_day between 1 and 31 and alignment = 'CALENDAR'));
`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table subscription drop column billing_day;`);
  }
}
