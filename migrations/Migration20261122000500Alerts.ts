import { Migration } from '@mikro-orm/migrations';
import { sqlFunction } from '../src/db/sql-files.js';

/**
 * Live updates, alerts and webhooks.
 *
 * - usage_period_total: per customer, billing period, meter and currency, the running totals of
 *   committed usage (quantity, amount, charge, events). Period spend and meter usage read here,
 *   for alerts now and for invoices and usage queries later.
 * - alert_definition: a threshold on a wallet's balance or available balance, on the period's
 *   spend, on a meter's usage, or on the percent used of the spending cap or of an allowance;
 *   with a direction and an optional recurrence. Definitions without a customer are the defaults
 *   copied onto every new wallet (of their currency, or of any).
 * - alert_state: per definition, the highest level crossed (-1: none) in the current period.
 * - alert: every crossing, once. webhook_delivery: one per alert and endpoint, written in the
 *   same transaction; webhook_attempt: the delivery log.
 *
 * alert_evaluate(customers, at) compares every enabled definition of the customers with the
 * current values and records the crossings. Callers run it in the transaction that changed the
 * values; it locks each definition's state row, so concurrent transactions that cross the same
 * threshold record one alert between them, and a crossing survives any restart with its commit.
 *
 * usage_commit (src/db/functions/usage_commit.sql) keeps the period totals and evaluates the
 * alerts in the commit.
 */
export class Migration20261122000500Alerts extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
create table usage_period_total (
  customer_id uuid not null references customer (id),
  period_start timestamptz not null,
  meter_code varchar(64) not null,
  currency varchar(32) not null,
  quantity numeric not null default 0,
  max_quantity numeric not null default 0,
  amount numeric not null default 0,
  charged bigint not null default 0,
  events bigint not null default 0,
  primary key (customer_id, period_start, meter_code, currency)
);

insert into usage_period_total (customer_id, period_start, meter_code, currency, quantity, max_quantity, amount, charged, events)
select customer_id, period_start, meter_code, currency, sum(quantity), max(quantity), sum(amount), sum(charged), count(*)
  from usage_event group by 1, 2, 3, 4;

create table alert_definition (
  id uuid primary key,
  customer_id uuid references customer (id),
  wallet_id uuid references wallet (id),
  currency varchar(32),
  name varchar(200) not null,
  metric varchar(24) not null check (metric in ('WALLET_BALANCE', 'WALLET_AVAILABLE', 'PERIOD_SPEND', 'METER_USAGE', 'SPENDING_CAP_USED', 'ALLOWANCE_USED')),
  meter_code varchar(64),
  direction varchar(8) not null check (direction in ('BELOW', 'ABOVE')),
  threshold numeric not null,
  every numeric check (every > 0),
  allowance numeric check (allowance > 0),
  top_up_amount numeric check (top_up_amount > 0),
  top_up_target numeric check (top_up_target > 0),
  enabled boolean not null default true,
  deleted_at timestamptz,
  created_at timestamptz not null,
  updated_at timestamptz not null,
  constraint alert_definition_wallet_metric check ((metric in ('WALLET_BALANCE', 'WALLET_AVAILABLE')) = (wallet_id is not null or customer_id is null)),
  constraint alert_definition_meter check ((metric in ('METER_USAGE', 'ALLOWANCE_USED')) = (meter_code is not null)),
  constraint alert_definition_allowance check ((metric = 'ALLOWANCE_USED') = (allowance is not null)),
  constraint alert_definition_top_up check (
    (top_up_amount is null and top_up_target is null)
    or (metric = 'WALLET_AVAILABLE' and direction = 'BELOW' and (top_up_amount is null) <> (top_up_target is null)))
);
create index alert_definition_customer on alert_definition (customer_id) where deleted_at is null;

create table alert_state (
  definition_id uuid primary key references alert_definition (id),
  period_start timestamptz,
  level int not null default -1,
  value numeric,
  updated_at timestamptz
);

create table alert (
  id uuid primary key,
  definition_id uuid not null references alert_definition (id),
  customer_id uuid not null references customer (id),
  wallet_id uuid references wallet (id),
  name varchar(200) not null,
  metric varchar(24) not null,
  meter_code varchar(64),
  direction varchar(8) not null,
  level int not null,
  threshold numeric not null,
  value numeric not null,
  period_start timestamptz,
  top_up_amount numeric,
  created_at timestamptz not null
);
create index alert_customer on alert (customer_id, id);

create table webhook_endpoint (
  id uuid primary key,
  url varchar(2048) not null,
  secret varchar(128) not null,
  description varchar(200),
  topics varchar(64)[] not null,
  enabled boolean not null default true,
  consecutive_failures int not null default 0,
  disabled_at timestamptz,
  disabled_reason varchar(500),
  created_at timestamptz not null,
  updated_at timestamptz not null
);

create table webhook_delivery (
  id uuid primary key,
  endpoint_id uuid not null references webhook_endpoint (id),
  topic varchar(64) not null,
  event_id uuid not null,
  payload jsonb not null,
  status varchar(16) not null default 'PENDING' check (status in ('PENDING', 'DELIVERED', 'FAILED')),
  attempts int not null default 0,
  next_attempt_at timestamptz not null,
  locked_until timestamptz,
  delivered_at timestamptz,
  created_at timestamptz not null,
  constraint webhook_delivery_once unique (endpoint_id, event_id)
);
create index webhook_delivery_due on webhook_delivery (next_attempt_at) where status = 'PENDING';
create index webhook_delivery_endpoint on webhook_delivery (endpoint_id, created_at);

create table webhook_attempt (
  id bigint generated always as identity primary key,
  delivery_id uuid not null references webhook_delivery (id),
  attempt int not null,
  attempted_at timestamptz not null,
  status_code int,
  error varchar(500),
  duration_ms int not null
);
create index webhook_attempt_delivery on webhook_attempt (delivery_id, attempt);

${sqlFunction('alert_level')}

${sqlFunction('alert_json')}

${sqlFunction('alert_evaluate')}

`);
  }

  override async down(): Promise<void> {
    this.addSql(`
drop function alert_evaluate(uuid[], timestamptz);
drop function alert_json(alert);
drop function alert_level(varchar, numeric, numeric, numeric);
drop table webhook_attempt, webhook_delivery, webhook_endpoint, alert, alert_state, alert_definition, usage_period_total;
`);
  }
}
