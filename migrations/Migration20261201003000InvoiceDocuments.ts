import { Migration } from '@mikro-orm/migrations';

/**
 * Invoice documents: what a finance team sends.
 *
 * - customer.billing_details: legal name, email, postal address and tax id for invoices;
 *   customer.payment_terms_days: the customer's own payment terms (null: the deployment's).
 * - invoice.seller and invoice.buyer: the seller's identity (from the configuration) and the
 *   customer's billing details as they were when the invoice was finalized; invoice_guard keeps
 *   them, like every figure, from changing after that. invoice.payment_terms_days and due_at are
 *   fixed at finalization too.
 * - invoice_corrected_by: finds the invoice that corrects a voided one.
 */
export class Migration20261201003000InvoiceDocuments extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
alter table customer
  add column billing_details jsonb,
  add column payment_terms_days integer,
  add constraint customer_payment_terms_days check (payment_terms_days between 0 and 365);

alter table invoice
  add column seller jsonb,
  add column buyer jsonb,
  add column payment_terms_days integer,
  add column due_at timestamptz,
  add constraint invoice_due_after_finalized check (due_at >= finalized_at);

create index invoice_corrected_by on invoice (corrects_invoice_id) where corrects_invoice_id is not null;
`);
  }

  override async down(): Promise<void> {
    this.addSql(`
drop index invoice_corrected_by;
alter table invoice drop constraint invoice_due_after_finalized, drop column due_at, drop column payment_terms_days, drop column buyer, drop column seller;
alter table customer drop constraint customer_payment_terms_days, drop column payment_terms_days, drop column billing_details;
`);
  }
}
