import { Migration } from '@mikro-orm/migrations';

/**
 * A reservation keeps what was authorised: the event's dimensions and values, and the estimated
 * quantity. Settling prices the actual quantity with them, so a settle that leaves them out is
 * priced like the authorisation, not at nothing.
 */
export class Migration20261201000100ReservationFacts extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
alter table reservation
  add column dimensions jsonb not null default '{}',
  add column "values" jsonb not null default '{}',
  add column estimated_quantity numeric;
`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table reservation drop column dimensions, drop column "values", drop column estimated_quantity;`);
  }
}
