import { Migration } from '@mikro-orm/migrations';
import { sqlTrigger } from '../src/db/sql-files.js';

/**
 * Real-time usage: customer account versions, plan subscriptions, usage events, authorisation
 * reservations, the outbox, and postpaid spending caps.
 *
 * Each usage event keeps its own charge, its allocation to credit blocks and the balance right
 * after it; the ledger gets one USAGE entry per group commit, wallet and block (usage_batch_id
 * joins the two), so a busy wallet adds one ledger row per commit instead of one per event.
 *
 * customer_account.version rises with every commit that changes what the reservation store
 * caches for a customer (money, holds, counters). A store loaded from a snapshot at version v
 * has seen exactly the commits up to v; that is how a commit whose hold the store lost is applied
 * once and only once.
 */
export class Migration20261122000300Usage extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
create table customer_account (
  customer_id uuid primary key references customer (id),
  version bigint not null default 0
);

alter table customer add column spending_cap bigint check (spending_cap >= 0);

create table subscription (
  id uuid primary key,
  customer_id uuid not null references customer (id),
  plan_id uuid not null references plan (id),
  status varchar(16) not null default 'ACTIVE' check (status in ('ACTIVE', 'CANCELED', 'ENDED')),
  alignment varchar(16) not null default 'CALENDAR' check (alignment in ('CALENDAR', 'ANNIVERSARY')),
  starts_at timestamptz not null,
  ends_at timestamptz,
  trial_ends_at timestamptz,
  base_fee_timing varchar(16) not null default 'ADVANCE' check (base_fee_timing in ('ADVANCE', 'ARREARS')),
  created_at timestamptz not null,
  updated_at timestamptz not null,
  constraint subscription_ends_after_start check (ends_at is null or ends_at > starts_at)
);
create index subscription_customer on subscription (customer_id, starts_at);

create table usage_event (
  id uuid primary key,
  customer_id uuid not null references customer (id),
  idempotency_key varchar(255) not null,
  request_hash char(64) not null,
  meter_id uuid not null references meter (id),
  meter_code varchar(64) not null,
  quantity numeric(30, 9) not null check (quantity > 0),
  occurred_at timestamptz not null,
  dimensions jsonb not null,
  "values" jsonb not null,
  period_start timestamptz not null,
  currency varchar(32) not null,
  wallet_id uuid references wallet (id),
  amount numeric not null,
  charged bigint not null,
  rule_set_key varchar(64) not null,
  rule_set_version int not null,
  rule_set_hash char(64) not null,
  fired_rules jsonb not null,
  lines jsonb not null,
  allocations jsonb not null,
  usage_batch_id uuid not null,
  soft_limit_exceeded boolean not null default false,
  balance_after bigint,
  available_after bigint,
  reservation_id uuid,
  created_at timestamptz not null,
  constraint usage_event_idempotency_key unique (customer_id, idempotency_key)
);
create index usage_event_customer_time on usage_event (customer_id, occurred_at);
create index usage_event_customer_period on usage_event (customer_id, period_start);
${sqlTrigger('usage_event_append_only')}

-- Usage is posted to the ledger once per group commit, wallet and credit block: one USAGE entry
-- carries the batch id its events carry, and equals the sum of their allocations to that block.
create index ledger_entry_usage_batch on ledger_entry (usage_batch_id) where usage_batch_id is not null;
create index usage_event_batch on usage_event (usage_batch_id);

create table reservation (
  id uuid primary key,
  customer_id uuid not null references customer (id),
  idempotency_key varchar(255) not null,
  request_hash char(64) not null,
  meter_code varchar(64) not null,
  currency varchar(32) not null,
  wallet_id uuid references wallet (id),
  amount bigint not null check (amount >= 0),
  hold jsonb not null,
  period_start timestamptz,
  status varchar(16) not null check (status in ('OPEN', 'SETTLED', 'RELEASED', 'EXPIRED')),
  expires_at timestamptz not null,
  settled_event_id uuid references usage_event (id),
  created_at timestamptz not null,
  updated_at timestamptz not null,
  constraint reservation_idempotency_key unique (customer_id, idempotency_key)
);
create index reservation_open on reservation (customer_id) where status = 'OPEN';
create index reservation_expiring on reservation (expires_at) where status = 'OPEN';

create table outbox (
  id bigint generated always as identity primary key,
  topic varchar(64) not null,
  customer_id uuid not null,
  payload jsonb not null,
  created_at timestamptz not null,
  published_at timestamptz
);
create index outbox_unpublished on outbox (id) where published_at is null;
`);
  }

  override async down(): Promise<void> {
    this.addSql(`
drop table outbox, reservation;
drop index ledger_entry_usage_batch;
drop table usage_event, subscription, customer_account;
alter table customer drop column spending_cap;
`);
  }
}
