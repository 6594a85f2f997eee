import { Migration } from '@mikro-orm/migrations';
import { sqlFunction } from '../src/db/sql-files.js';

/** usage_commit: makes a group of reserved usage events durable in one statement (src/db/functions/usage_commit.sql). */
export class Migration20261122000400UsageCommit extends Migration {
  override async up(): Promise<void> {
    this.addSql(sqlFunction('usage_commit'));
  }

  override async down(): Promise<void> {
    this.addSql('drop function usage_commit(jsonb, uuid, timestamptz);');
  }
}
