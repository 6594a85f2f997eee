import { Migration } from '@mikro-orm/migrations';
import { sqlTrigger } from '../src/db/sql-files.js';

/**
 * Published rule-set versions. A version is published the first time a valid file for it is
 * loaded and is immutable afterwards: the content stays here even if the file changes or goes,
 * so the prices an event was rated with can always be read back.
 */
export class Migration20261122000200RuleSets extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
create table rule_set_version (
  key varchar(64) not null,
  version int not null check (version >= 1),
  hash char(64) not null,
  effective_from timestamptz not null,
  currency varchar(32) not null,
  content jsonb not null,
  source_file varchar(500),
  published_at timestamptz not null,
  primary key (key, version)
);
${sqlTrigger('rule_set_version_immutable')}
`);
  }

  override async down(): Promise<void> {
    this.addSql('drop table rule_set_version;');
  }
}
