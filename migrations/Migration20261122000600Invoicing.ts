import { Migration } from '@mikro-orm/migrations';
import { sqlFunction, sqlTrigger } from '../src/db/sql-files.js';

/**
 * Invoicing: plan changes and cancellations on subscriptions, tax rates, and invoices.
 *
 * - subscription.billing_anchor: the instant anniversary periods count from. A plan change
 *   starts a new subscription row that keeps its predecessor's anchor (replaces_subscription_id),
 *   so the billing period does not move when the plan does.
 * - tax_rate: a named percentage, tax-inclusive or exclusive; customers and plan versions name one
 *   (the customer's wins).
 * - invoice: one per customer and billing period (kind PERIOD), or for the first period's
 *   advance fee (kind OPENING); DRAFT until its grace period ends, then FINALIZED with a number
 *   from invoice_counter (gapless: the counter moves in the finalizing transaction). A finalized
 *   invoice and its lines are immutable; only payment and voiding are recorded on it.
 * - invoice_line: every line keeps its precise amount beside the rounded one, the period it bills
 *   and a billing key, so later invoices can bill only what changed (late usage, proration).
 */
export class Migration20261122000600Invoicing extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
alter table subscription
  add column billing_anchor timestamptz,
  add column cancel_at_period_end boolean not null default false,
  add column canceled_at timestamptz,
  add column replaces_subscription_id uuid references subscription (id);
update subscription set billing_anchor = starts_at;
alter table subscription alter column billing_anchor set not null;

create table tax_rate (
  code varchar(64) primary key,
  name varchar(200) not null,
  percent numeric(9, 6) not null check (percent >= 0 and percent < 100),
  inclusive boolean not null,
  created_at timestamptz not null
);
alter table customer add column tax_rate_code varchar(64) references tax_rate (code);
alter table plan add column tax_rate_code varchar(64) references tax_rate (code);

drop table invoice_line, invoice;

create table invoice (
  id uuid primary key,
  customer_id uuid not null references customer (id),
  kind varchar(16) not null check (kind in ('PERIOD', 'OPENING')),
  status varchar(16) not null check (status in ('DRAFT', 'FINALIZED', 'PAID', 'VOID')),
  currency varchar(32) not null,
  period_start timestamptz not null,
  period_end timestamptz not null,
  grace_ends_at timestamptz not null,
  number varchar(80),
  number_scope varchar(64),
  sequence bigint,
  tax_rate jsonb,
  subtotal numeric not null,
  tax numeric not null,
  total numeric not null,
  prepaid numeric not null,
  amount_due numeric not null,
  precise jsonb not null,
  rule_sets jsonb not null,
  usage_seen jsonb not null,
  rounding varchar(16) not null,
  proration varchar(16) not null,
  computed_at timestamptz not null,
  finalized_at timestamptz,
  paid_at timestamptz,
  payment_reference varchar(200),
  voided_at timestamptz,
  void_reason varchar(500),
  corrects_invoice_id uuid references invoice (id),
  created_at timestamptz not null,
  updated_at timestamptz not null,
  constraint invoice_period check (period_end > period_start),
  constraint invoice_numbered check ((status = 'DRAFT') = (number is null))
);
create unique index invoice_one_per_period on invoice (customer_id, kind, period_start) where status <> 'VOID';
create unique index invoice_number_key on invoice (number);
create index invoice_customer on invoice (customer_id, period_start desc);
create index invoice_open on invoice (grace_ends_at) where status = 'DRAFT';

create table invoice_line (
  id uuid primary key,
  invoice_id uuid not null references invoice (id),
  position int not null,
  kind varchar(16) not null,
  billing_key text not null,
  period_start timestamptz not null,
  period_end timestamptz not null,
  description varchar(500) not null,
  meter_code varchar(64),
  dimensions jsonb,
  quantity numeric,
  precise_amount numeric not null,
  amount numeric not null,
  taxable boolean not null,
  tiers jsonb not null default '[]'::jsonb,
  details jsonb not null default '{}'::jsonb
);
create index invoice_line_invoice on invoice_line (invoice_id, position);
create index invoice_line_billed on invoice_line (billing_key, period_start);

create table invoice_counter (
  scope varchar(64) primary key,
  last bigint not null
);

${sqlFunction('invoice_line_guard')}
${sqlTrigger('invoice_line_guard')}

${sqlFunction('invoice_guard')}
${sqlTrigger('invoice_guard')}
`);
  }

  override async down(): Promise<void> {
    this.addSql(`
drop table invoice_line, invoice, invoice_counter;
drop function invoice_line_guard, invoice_guard;
alter table customer drop column tax_rate_code;
alter table plan drop column tax_rate_code;
drop table tax_rate;
alter table subscription drop column billing_anchor, drop column cancel_at_period_end, drop column canceled_at,
  drop column replaces_subscription_id;
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
}
