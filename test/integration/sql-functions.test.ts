import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqlFunctionFiles } from '../../src/db/sql-files.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { runBilling } from '../support/process.js';

/**
 * SQL functions are source: each file in src/db/functions holds its function's one current
 * definition, and a migrated database runs exactly that.
 */

/** The database's definition of each user function in `schema`, keyed by name, with the schema left out. */
async function definitions(client: pg.ClientBase, schema: string): Promise<Map<string, string>> {
  const { rows } = await client.query<{ name: string; def: string }>(
    `select p.proname as name, pg_get_functiondef(p.oid) as def
       from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname = $1
        and not exists (select 1 from pg_depend d where d.objid = p.oid and d.deptype = 'e')`,
    [schema],
  );
  return new Map(rows.map((r) => [r.name, r.def.replace(`FUNCTION ${schema}.`, 'FUNCTION ')]));
}

/** What each file defines: run in a scratch schema inside a transaction that is rolled back. */
async function fileDefinitions(client: pg.ClientBase): Promise<Map<string, Map<string, string>>> {
  const out = new Map<string, Map<string, string>>();
  for (const file of sqlFunctionFiles()) {
    await client.query('begin');
    try {
      await client.query('create schema file_check');
      await client.query('set local search_path = file_check, public');
      await client.query(file.text);
      out.set(file.name, await definitions(client, 'file_check'));
    } finally {
      await client.query('rollback');
    }
  }
  return out;
}

describe('SQL functions as source', () => {
  let db: TestDatabase;
  let client: pg.Client;

  beforeAll(async () => {
    db = await createTestDatabase();
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
  });
  afterAll(async () => {
    await client.end();
    await db.drop();
  });

  it('each file defines one function, named as the file, and the migrated database runs exactly that definition', async () => {
    const files = await fileDefinitions(client);
    const database = await definitions(client, 'public');
    expect(files.size).toBeGreaterThanOrEqual(12);
    for (const [name, defined] of files) {
      expect([...defined.keys()], `src/db/functions/${name}.sql`).toEqual([name]);
      expect(database.get(name), `the database's ${name} differs from src/db/functions/${name}.sql`).toBe(defined.get(name));
    }
    // And no function lives only in a migration.
    expect([...database.keys()].filter((name) => !files.has(name))).toEqual([]);
  });

  it('migrate brings a database whose function differs from its file back to the file, and says so', async () => {
    await client.query(`create or replace function alert_level(p_direction varchar, p_threshold numeric, p_every numeric, p_value numeric)
                        returns int language sql immutable as $$ select -1 $$`);
    await client.query(`update sql_source set sha256 = repeat('0', 64) where name = 'alert_level'`);
    const run = await runBilling(['migrate'], { DATABASE_URL: db.url, LOG_LEVEL: 'warn' });
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe('applied src/db/functions/alert_level.sql\n');
    expect((await client.query(`select alert_level('ABOVE', 10, null, 12) as level`)).rows[0].level).toBe(0);
    const again = await runBilling(['migrate'], { DATABASE_URL: db.url, LOG_LEVEL: 'warn' });
    expect(again.stdout).toBe('database is up to date\n');
  });
});
