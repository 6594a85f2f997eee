import { Migration } from '@mikro-orm/migrations';
import { sqlFunction } from '../src/db/sql-files.js';

/**
 * The commit path, lighter: usage_commit and alert_evaluate no longer change planner settings per
 * call (their connections plan for key lookups once; see COMMIT_SESSION), usage_commit reads its
 * payload with one jsonb_populate_recordset, and usage_event loses an index nothing reads
 * (usage_batch_id: ledger entries and events of a commit are tied by it, never looked up by it).
 */
export class Migration20261201000600CommitPath extends Migration {
  override async up(): Promise<void> {
    this.addSql('drop index if exists usage_event_batch;');
    this.addSql(sqlFunction('usage_commit'));
    this.addSql(sqlFunction('alert_evaluate'));
  }

  override async down(): Promise<void> {
    this.addSql('create index usage_event_batch on usage_event (usage_batch_id);');
  }
}
