import { Migration } from '@mikro-orm/migrations';

/**
 * A meter's property: none for COUNT, the counted dimension for UNIQUE_COUNT (required), and an
 * optional label of what the quantity measures for SUM, MAX and LATEST.
 */
export class Migration20261201000300MeterProperty extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
alter table meter drop constraint meter_property_needed;
alter table meter add constraint meter_property_needed
  check (case aggregation when 'COUNT' then property is null when 'UNIQUE_COUNT' then property is not null else true end);
`);
  }

  override async down(): Promise<void> {
    this.addSql(`
alter table meter drop constraint meter_property_needed;
alter table meter add constraint meter_property_needed check ((aggregation = 'COUNT') = (property is null));
`);
  }
}
