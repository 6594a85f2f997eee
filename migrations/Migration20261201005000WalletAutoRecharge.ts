import { Migration } from '@mikro-orm/migrations';
import { sqlFunction } from '../src/db/sql-files.js';

/**
 * Auto-recharge of prepaid wallets.
 *
 * - alert_definition.recharge_on_failure: set (NONE or SUSPEND) on a wallet's auto-recharge,
 *   the auto top-up definition (WALLET_AVAILABLE, BELOW, topUpAmount or topUpTarget) that
 *   setWalletAutoRecharge keeps; at most one per wallet. Its crossings are detected as every
 *   definition's are (alert_evaluate, once per crossing, in the transaction that moved the value).
 * - wallet_recharge: one row per charge a crossing asks for, when the customer's provider
 *   collects by itself; at most one IN_FLIGHT per wallet (wallet_recharge_in_flight). The
 *   amount is in ledger units (1e-9) of the wallet's currency; a success records the payment's
 *   reference and the top-up's ledger entry, a failure its code, and what the wallet's policy was.
 */
export class Migration20261201005000WalletAutoRecharge extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
alter table alert_definition
  add column recharge_on_failure varchar(16),
  add constraint alert_definition_recharge_on_failure check (recharge_on_failure in ('NONE', 'SUSPEND')),
  add constraint alert_definition_recharge check (
    recharge_on_failure is null
    or (wallet_id is not null and metric = 'WALLET_AVAILABLE' and direction = 'BELOW' and every is null and (top_up_amount is not null or top_up_target is not null)));
create unique index alert_definition_wallet_recharge on alert_definition (wallet_id) where recharge_on_failure is not null and deleted_at is null;

create table wallet_recharge (
  id uuid primary key,
  seq bigint generated always as identity,
  wallet_id uuid not null references wallet (id),
  customer_id uuid not null references customer (id),
  definition_id uuid not null references alert_definition (id),
  status varchar(16) not null check (status in ('IN_FLIGHT', 'SUCCEEDED', 'FAILED')),
  amount bigint not null check (amount > 0),
  currency varchar(32) not null,
  available numeric not null,
  threshold numeric not null,
  on_failure varchar(16) not null check (on_failure in ('NONE', 'SUSPEND')),
  provider varchar(32),
  payment_reference varchar(200),
  ledger_entry_id bigint,
  failure_code varchar(100),
  failure_message varchar(500),
  created_at timestamptz not null,
  updated_at timestamptz not null,
  settled_at timestamptz,
  constraint wallet_recharge_settled check ((status = 'IN_FLIGHT') = (settled_at is null)),
  constraint wallet_recharge_succeeded check ((status = 'SUCCEEDED') = (ledger_entry_id is not null)),
  constraint wallet_recharge_failed check ((status = 'FAILED') = (failure_code is not null))
);
create unique index wallet_recharge_in_flight on wallet_recharge (wallet_id) where status = 'IN_FLIGHT';
create unique index wallet_recharge_reference on wallet_recharge (provider, payment_reference) where payment_reference is not null;
create index wallet_recharge_wallet on wallet_recharge (wallet_id, seq);
create index wallet_recharge_failed on wallet_recharge (customer_id) where status = 'FAILED';
`);
    this.addSql(sqlFunction('alert_evaluate'));
  }

  override async down(): Promise<void> {
    this.addSql(`
drop table wallet_recharge;
drop index alert_definition_wallet_recharge;
alter table alert_definition drop constraint alert_definition_recharge, drop column recharge_on_failure;
`);
  }
}
