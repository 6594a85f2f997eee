import { Migration } from '@mikro-orm/migrations';
import { sqlFunction } from '../src/db/sql-files.js';

/**
 * meter_level_add reads the events' meters by primary key: its scan of meter for RECURRING rows
 * was JIT-compiled on every commit under the commit sessions' settings (enable_seqscan off).
 * Same rows written; down keeps the current definition, which does the same.
 */
export class Migration20261201012000MeterLevelByKey extends Migration {
  override async up(): Promise<void> {
    this.addSql(sqlFunction('meter_level_add'));
  }

  override async down(): Promise<void> {
    // The function's one definition is the file's; the previous body wrote the same rows.
  }
}
