import { Migration } from '@mikro-orm/migrations';

/**
 * Every markup, discount or multiplier that changed an invoice line, with what it added: a
 * line's tiers plus its adjustments make its exact amount.
 */
export class Migration20261201000200InvoiceLineAdjustments extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table invoice_line add column adjustments jsonb not null default '[]';`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table invoice_line drop column adjustments;`);
  }
}
