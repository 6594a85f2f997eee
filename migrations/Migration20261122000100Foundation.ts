import { Migration } from '@mikro-orm/migrations';
import { sqlFunction, sqlTrigger } from '../src/db/sql-files.js';

/**
 * Customers, meters, plans, wallets with their append-only ledger, API keys, idempotency
 * records, and invoice stubs.
 *
 * Ledger invariant: a wallet's balance is the sum of its ledger entries and a credit block's
 * remaining amount is the sum of the entries booked to it. Only the statement trigger
 * `ledger_entry_apply` moves those columns, entries can be neither updated nor deleted, and
 * a direct update of a balance is refused.
 */
export class Migration20261122000100Foundation extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
create table customer (
  id uuid primary key,
  external_id varchar(255) not null,
  name varchar(200) not null,
  email varchar(320),
  currency varchar(32) not null,
  timezone varchar(64) not null,
  metadata jsonb not null default '{}'::jsonb,
  created_at timestamptz not null,
  updated_at timestamptz not null,
  constraint customer_external_id_key unique (external_id)
);

create table credit_unit (
  code varchar(32) primary key,
  name varchar(200) not null,
  exponent smallint not null check (exponent between 0 and 9),
  created_at timestamptz not null
);

create table meter (
  id uuid primary key,
  code varchar(64) not null constraint meter_code_key unique,
  name varchar(200) not null,
  aggregation varchar(16) not null check (aggregation in ('COUNT', 'SUM', 'MAX', 'UNIQUE_COUNT', 'LATEST')),
  property varchar(64),
  dimensions text[] not null default '{}',
  created_at timestamptz not null,
  constraint meter_property_needed check ((aggregation = 'COUNT') = (property is null))
);

create table plan (
  id uuid primary key,
  code varchar(64) not null,
  version int not null check (version >= 1),
  name varchar(200) not null,
  description varchar(2000),
  currency varchar(32) not null,
  billing_interval varchar(16) not null check (billing_interval in ('WEEKLY', 'MONTHLY', 'QUARTERLY', 'YEARLY')),
  base_fee numeric(30, 9) not null check (base_fee >= 0),
  created_at timestamptz not null,
  constraint plan_code_version_key unique (code, version)
);

create table plan_charge (
  id uuid primary key,
  plan_id uuid not null references plan (id),
  meter_id uuid not null references meter (id),
  rule_set_key varchar(64) not null,
  display_name varchar(200),
  group_by text[] not null default '{}',
  position int not null,
  constraint plan_charge_meter_key unique (plan_id, meter_id)
);

${sqlFunction('refuse_change')}

${sqlTrigger('plan_immutable')}
${sqlTrigger('plan_charge_immutable')}

create table wallet (
  id uuid primary key,
  customer_id uuid not null references customer (id),
  currency varchar(32) not null,
  limit_mode varchar(16) not null default 'HARD' check (limit_mode in ('HARD', 'SOFT', 'OVERDRAFT')),
  overdraft_limit bigint not null default 0 check (overdraft_limit >= 0),
  balance bigint not null default 0,
  version bigint not null default 0,
  created_at timestamptz not null,
  updated_at timestamptz not null,
  constraint wallet_customer_currency_key unique (customer_id, currency)
);

create table credit_block (
  id uuid primary key,
  wallet_id uuid not null references wallet (id),
  kind varchar(8) not null check (kind in ('MAIN', 'GRANT')),
  priority int not null default 0,
  expires_at timestamptz,
  granted bigint not null default 0,
  remaining bigint not null default 0,
  reason varchar(500),
  created_at timestamptz not null,
  constraint credit_block_grant_not_negative check (kind = 'MAIN' or remaining >= 0),
  constraint credit_block_main_never_expires check (kind = 'GRANT' or expires_at is null)
);
create unique index credit_block_one_main on credit_block (wallet_id) where kind = 'MAIN';
create index credit_block_wallet on credit_block (wallet_id);

create table ledger_entry (
  id bigint generated always as identity primary key,
  wallet_id uuid not null references wallet (id),
  credit_block_id uuid not null references credit_block (id),
  kind varchar(16) not null check (kind in ('TOP_UP', 'GRANT', 'USAGE', 'ADJUSTMENT', 'VOID', 'EXPIRATION')),
  amount bigint not null,
  usage_batch_id uuid,
  reference varchar(255),
  description varchar(500),
  created_at timestamptz not null,
  constraint ledger_entry_sign check (
    (kind in ('TOP_UP', 'GRANT') and amount > 0)
    or (kind in ('USAGE', 'EXPIRATION') and amount < 0)
    or (kind in ('ADJUSTMENT', 'VOID') and amount <> 0)
  )
);
create index ledger_entry_wallet on ledger_entry (wallet_id, id);

${sqlFunction('ledger_entry_apply')}

${sqlTrigger('ledger_entry_apply')}
${sqlTrigger('ledger_entry_append_only')}
${sqlTrigger('ledger_entry_no_truncate')}

${sqlFunction('guard_wallet_totals')}
${sqlTrigger('wallet_guard_totals')}

${sqlFunction('guard_credit_block_totals')}
${sqlTrigger('credit_block_guard_totals')}

create table api_key (
  id uuid primary key,
  name varchar(200) not null,
  role varchar(16) not null check (role in ('ADMIN', 'INGEST', 'CUSTOMER')),
  customer_id uuid references customer (id),
  prefix varchar(16) not null,
  secret_hash bytea not null constraint api_key_secret_hash_key unique,
  created_at timestamptz not null,
  expires_at timestamptz,
  revoked_at timestamptz,
  constraint api_key_customer_scope check ((role = 'CUSTOMER') = (customer_id is not null))
);

create table idempotency_record (
  operation varchar(64) not null,
  key varchar(255) not null,
  request_hash char(64) not null,
  response jsonb not null,
  created_at timestamptz not null,
  primary key (operation, key)
);

create table invoice (
  id uuid primary key,
  customer_id uuid not null references customer (id),
  status varchar(16) not null default 'DRAFT',
  currency varchar(32) not null,
  period_start timestamptz not null,
  period_end timestamptz not null,
  created_at timestamptz not null
);

create table invoice_line (
  id uuid primary key,
  invoice_id uuid not null references invoice (id),
  description varchar(500) not null,
  amount numeric(38, 9) not null,
  position int not null
);
`);
  }

  override async down(): Promise<void> {
    this.addSql(`
drop table invoice_line, invoice, idempotency_record, api_key, ledger_entry, credit_block, wallet,
  plan_charge, plan, meter, credit_unit, customer cascade;
drop function ledger_entry_apply, guard_wallet_totals, guard_credit_block_totals, refuse_change;
`);
  }
}
