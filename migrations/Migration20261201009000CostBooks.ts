import { Migration } from '@mikro-orm/migrations';
import { sqlFunction } from '../src/db/sql-files.js';

/**
 * What serving each usage event cost, stored with the event (see "Cost books" in rules/README.md):
 *
 * - cost: the exact amount, in cost_currency;
 * - cost_units: the same in ledger units (1e-9 of cost_currency), rounded half-up once;
 * - cost_source: BOOK (priced by the cost books in force) or ACTUAL (the event's values.providerCost);
 * - cost_currency: the cost books' currency, or the event's own currency for an ACTUAL cost;
 * - cost_book: the cost books that priced it, [{"key", "version"}] (BOOK only).
 *
 * All null when the cost is unknown (no cost book priced the event and it carried no provider
 * cost), never zero; events recorded before this migration have an unknown cost. usage_commit
 * writes the columns.
 */
export class Migration20261201009000CostBooks extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
alter table usage_event
  add column cost numeric,
  add column cost_units bigint,
  add column cost_source varchar(8),
  add column cost_currency varchar(32),
  add column cost_book jsonb,
  add constraint usage_event_cost_source check (cost_source in ('BOOK', 'ACTUAL')),
  add constraint usage_event_cost_known check (
    (cost is null) = (cost_units is null) and (cost is null) = (cost_source is null) and (cost is null) = (cost_currency is null)
    and (cost_book is null) = (cost_source is distinct from 'BOOK'));
`);
    this.addSql(sqlFunction('usage_commit'));
  }

  override async down(): Promise<void> {
    this.addSql(`
alter table usage_event
  drop column cost, drop column cost_units, drop column cost_source, drop column cost_currency, drop column cost_book;
`);
  }
}
