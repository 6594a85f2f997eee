import { Migration } from '@mikro-orm/migrations';

/**
 * Who collects a customer's invoices, and the references a provider needs to charge it.
 *
 * - customer.payment_provider: MANUAL (the integrator's own payment flow; the default) or STRIPE.
 * - customer.stripe_customer_id and stripe_payment_method_id: references to the Stripe customer
 *   and its default payment method (cus_…, pm_…), required with STRIPE. No card data is stored:
 *   the card stays at Stripe, which charges it by these references.
 * - payment_provider_reference_any: a provider's webhook finds the payment or refund it settles
 *   by its reference, whatever its status (the unique index covers PENDING ones only).
 */
export class Migration20261201004000PaymentMethods extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
alter table customer
  add column payment_provider varchar(32) not null default 'MANUAL',
  add column stripe_customer_id varchar(255),
  add column stripe_payment_method_id varchar(255),
  add constraint customer_payment_provider check (payment_provider in ('MANUAL', 'STRIPE')),
  add constraint customer_stripe_customer_id check (stripe_customer_id ~ '^cus_[A-Za-z0-9]+$'),
  add constraint customer_stripe_payment_method_id check (stripe_payment_method_id ~ '^pm_[A-Za-z0-9_]+$'),
  add constraint customer_stripe_references check (payment_provider <> 'STRIPE' or (stripe_customer_id is not null and stripe_payment_method_id is not null));

create index payment_provider_reference_any on payment (provider, provider_reference) where provider_reference is not null;
`);
  }

  override async down(): Promise<void> {
    this.addSql(`
drop index payment_provider_reference_any;
alter table customer drop column payment_provider, drop column stripe_customer_id, drop column stripe_payment_method_id;
`);
  }
}
