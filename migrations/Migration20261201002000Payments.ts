import { Migration } from '@mikro-orm/migrations';
import { sqlFunction, sqlTrigger } from '../src/db/sql-files.js';

/**
 * Collecting payments: the record of money received and given back, dunning, and suspension.
 *
 * - payment: one row per payment attempt (kind PAYMENT, succeeded, failed or pending at a
 *   provider) and per refund (kind REFUND, of one payment), in ledger units (1e-9) of the
 *   invoice's currency, with the provider and its reference; `seq` orders them as recorded.
 *   The idempotency key is unique; the request's fingerprint tells a retry from another request
 *   reusing it. Rows are never deleted and change only to settle a PENDING one (payment_guard).
 * - invoice: amount_paid (net of refunds) and amount_refunded in ledger units, payment_status,
 *   the number of attempts, the next attempt's date, the dunning schedule fixed at the first
 *   failure (dunning), and the status UNCOLLECTIBLE once dunning gave up. Invoices already PAID
 *   get the payment that paid them (provider MANUAL, their payment reference).
 * - plan: dunning_retry_days (null: the global DUNNING_RETRY_DAYS) and dunning_policy, what an
 *   uncollectible invoice does to the customer (SUSPEND or NONE).
 * - customer: suspended_at and suspension_reason.
 */
export class Migration20261201002000Payments extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
alter table plan
  add column dunning_retry_days int[],
  add column dunning_policy varchar(16) not null default 'NONE' check (dunning_policy in ('SUSPEND', 'NONE'));

alter table customer
  add column suspended_at timestamptz,
  add column suspension_reason varchar(500);

alter table invoice drop constraint invoice_status_check;
alter table invoice
  add constraint invoice_status_check check (status in ('DRAFT', 'FINALIZED', 'PAID', 'UNCOLLECTIBLE', 'VOID')),
  add column amount_paid bigint not null default 0,
  add column amount_refunded bigint not null default 0 check (amount_refunded >= 0),
  add column payment_status varchar(24) not null default 'NONE'
    check (payment_status in ('NONE', 'PENDING', 'FAILED', 'PARTIALLY_PAID', 'PAID', 'UNCOLLECTIBLE', 'PARTIALLY_REFUNDED', 'REFUNDED')),
  add column payment_attempts int not null default 0,
  add column next_payment_attempt_at timestamptz,
  add column dunning jsonb,
  add column uncollectible_at timestamptz;
create index invoice_payment_due on invoice (next_payment_attempt_at) where next_payment_attempt_at is not null;

create table payment (
  id uuid primary key,
  seq bigint generated always as identity,
  invoice_id uuid not null references invoice (id),
  customer_id uuid not null references customer (id),
  kind varchar(16) not null check (kind in ('PAYMENT', 'REFUND')),
  status varchar(16) not null check (status in ('PENDING', 'SUCCEEDED', 'FAILED')),
  amount bigint not null check (amount > 0),
  currency varchar(32) not null,
  provider varchar(32) not null,
  provider_reference varchar(200),
  attempt int check (attempt >= 1),
  failure_reason varchar(500),
  refunds_payment_id uuid references payment (id),
  reason varchar(500),
  idempotency_key varchar(255) not null,
  request_hash char(64) not null,
  occurred_at timestamptz not null,
  created_at timestamptz not null,
  updated_at timestamptz not null,
  constraint payment_idempotency_key unique (idempotency_key),
  constraint payment_refund_of check ((kind = 'REFUND') = (refunds_payment_id is not null)),
  constraint payment_attempt_numbered check ((kind = 'PAYMENT') = (attempt is not null)),
  constraint payment_failed_reason check ((status = 'FAILED') = (failure_reason is not null))
);
create unique index payment_invoice_attempt on payment (invoice_id, attempt) where kind = 'PAYMENT';
create index payment_invoice on payment (invoice_id, seq);
create index payment_refunds on payment (refunds_payment_id) where refunds_payment_id is not null;
create unique index payment_provider_reference on payment (provider, provider_reference) where status = 'PENDING';
`);
    this.addSql(sqlFunction('invoice_guard'));
    this.addSql(sqlFunction('payment_guard'));
    this.addSql(sqlTrigger('payment_guard'));
    this.addSql(`
insert into payment (id, invoice_id, customer_id, kind, status, amount, currency, provider, provider_reference, attempt,
                     idempotency_key, request_hash, occurred_at, created_at, updated_at)
select gen_random_uuid(), i.id, i.customer_id, 'PAYMENT', 'SUCCEEDED', (i.amount_due * 1000000000)::bigint, i.currency, 'MANUAL',
       i.payment_reference, 1, 'invoice-paid:' || i.id, repeat('0', 64), coalesce(i.paid_at, i.updated_at), i.updated_at, i.updated_at
  from invoice i where i.status = 'PAID' and i.amount_due > 0;
update invoice set amount_paid = (amount_due * 1000000000)::bigint, payment_status = 'PAID', payment_attempts = 1
 where status = 'PAID' and amount_due > 0;
update invoice set payment_status = 'PAID' where status = 'PAID' and amount_due <= 0;
`);
  }

  override async down(): Promise<void> {
    this.addSql(`
drop table payment;
drop function payment_guard();
alter table invoice disable trigger invoice_guard;
update invoice set status = 'FINALIZED' where status = 'UNCOLLECTIBLE';
alter table invoice enable trigger invoice_guard;
alter table invoice drop constraint invoice_status_check;
alter table invoice
  add constraint invoice_status_check check (status in ('DRAFT', 'FINALIZED', 'PAID', 'VOID')),
  drop column amount_paid, drop column amount_refunded, drop column payment_status, drop column payment_attempts,
  drop column next_payment_attempt_at, drop column dunning, drop column uncollectible_at;
alter table customer drop column suspended_at, drop column suspension_reason;
alter table plan drop column dunning_retry_days, drop column dunning_policy;
`);
  }
}
