import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqlFunctionFiles, sqlTriggerFiles } from '../../src/db/sql-files.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { runBilling } from '../support/process.js';

/**
 * SQL functions and triggers are source: each file in src/db/functions and src/db/triggers holds
 * its function's or trigger's one current definition, and a migrated database runs exactly that.
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

/**
 * The database's user triggers in public: name, table and definition. A row trigger of a
 * partitioned table (usage_event) is cloned onto each partition; the clones follow the one
 * defined, so only that one is listed.
 */
async function triggers(client: pg.ClientBase): Promise<Array<{ name: string; table: string; def: string }>> {
  const { rows } = await client.query<{ name: string; table: string; def: string }>(
    `select t.tgname as name, c.relname as table, pg_get_triggerdef(t.oid) as def
       from pg_trigger t join pg_class c on c.oid = t.tgrelid join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'public' and not t.tgisinternal and t.tgparentid = 0
      order by t.tgname`,
  );
  return rows;
}

/**
 * What each trigger file defines: run twice (it must be re-appliable, as migrate re-applies a
 * changed file) on the migrated database stripped of every trigger, in a transaction that is
 * rolled back.
 */
async function triggerFileDefinitions(client: pg.ClientBase): Promise<Map<string, Map<string, string>>> {
  const existing = await triggers(client);
  const out = new Map<string, Map<string, string>>();
  for (const file of sqlTriggerFiles()) {
    await client.query('begin');
    try {
      for (const t of existing) await client.query(`drop trigger ${t.name} on ${t.table}`);
      await client.query(file.text);
      await client.query(file.text);
      out.set(file.name, new Map((await triggers(client)).map((t) => [t.name, t.def])));
    } finally {
      await client.query('rollback');
    }
  }
  return out;
}

describe('SQL functions and triggers as source', () => {
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

  it('each trigger file defines one trigger, named as the file, and the migrated database has exactly that definition', async () => {
    const files = await triggerFileDefinitions(client);
    const database = new Map((await triggers(client)).map((t) => [t.name, t.def]));
    expect(files.size).toBeGreaterThanOrEqual(14);
    for (const [name, defined] of files) {
      expect([...defined.keys()], `src/db/triggers/${name}.sql`).toEqual([name]);
      expect(database.get(name), `the database's trigger ${name} differs from src/db/triggers/${name}.sql`).toBe(defined.get(name));
    }
    // And no trigger lives only in a migration.
    expect([...database.keys()].filter((name) => !files.has(name))).toEqual([]);
  });

  it('migrate brings a database whose function or trigger differs from its file back to the file, says so, and forgets a file that is gone', async () => {
    const triggerDef = async () =>
      (await client.query(`select pg_get_triggerdef(oid) as def from pg_trigger where tgname = 'usage_event_append_only' and tgparentid = 0`)).rows[0].def as string;
    const filed = await triggerDef();
    expect(filed).toContain('BEFORE DELETE OR UPDATE ON public.usage_event');
    await client.query(`create or replace function alert_level(p_direction varchar, p_threshold numeric, p_every numeric, p_value numeric)
                        returns int language sql immutable as $$ select -1 $$`);
    await client.query(`update sql_source set sha256 = repeat('0', 64) where name = 'alert_level'`);
    await client.query(`create or replace trigger usage_event_append_only before delete on usage_event for each row execute function refuse_change()`);
    await client.query(`update sql_source set sha256 = repeat('0', 64) where name = 'triggers/usage_event_append_only'`);
    expect(await triggerDef()).not.toBe(filed);
    // A file that is gone: a row brought back with it would be taken for installed.
    await client.query(`insert into sql_source (name, sha256, installed_at) values ('triggers/gone', repeat('0', 64), now())`);

    const run = await runBilling(['migrate'], { DATABASE_URL: db.url, LOG_LEVEL: 'warn' });
    expect(run.stderr).toBe('');
    expect(run.stdout).toMatch(/^applied src\/db\/functions\/alert_level\.sql, src\/db\/triggers\/usage_event_append_only\.sql\n$/);
    expect((await client.query(`select alert_level('ABOVE', 10, null, 12) as level`)).rows[0].level).toBe(0);
    expect(await triggerDef()).toBe(filed);
    // Every file has its row, by its name (functions) or triggers/<name>, and only they do.
    const keys = (await client.query(`select name from sql_source order by name collate "C"`)).rows.map((r) => r.name as string);
    expect(keys).toEqual([...sqlFunctionFiles().map((f) => f.name), ...sqlTriggerFiles().map((f) => `triggers/${f.name}`)].sort());

    const again = await runBilling(['migrate'], { DATABASE_URL: db.url, LOG_LEVEL: 'warn' });
    expect(again.stdout).toBe('database is up to date\n');
  });
});
