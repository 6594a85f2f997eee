import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';

/*
 * SQL functions and triggers are source: each lives in `src/db/functions/<name>.sql` with its one
 * current definition (`create or replace function <name>`). A migration that introduces one, or
 * needs a newer version at its point (a trigger on it, a backfill), loads the file; and every
 * migrate ends by installing the files whose text the database has not seen yet (their SHA-256
 * is kept in sql_source). So a database, new or upgraded, always runs exactly what the files say,
 * and a change to a function is a change to its file.
 */

const FUNCTIONS = new URL('./functions/', import.meta.url);

/** The text of one function's file. */
export function sqlFunction(name: string): string {
  return readFileSync(new URL(`${name}.sql`, FUNCTIONS), 'utf8');
}

/** Every function file: its name (the file's) and text, in name order. */
export function sqlFunctionFiles(): Array<{ name: string; text: string; sha256: string }> {
  return readdirSync(FUNCTIONS)
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((f) => {
      const text = readFileSync(new URL(f, FUNCTIONS), 'utf8');
      return { name: f.slice(0, -4), text, sha256: createHash('sha256').update(text).digest('hex') };
    });
}

/**
 * Installs the function files the database has not seen in their current text; returns their
 * names. Runs inside the migration's transaction (`execute` runs one statement there).
 */
export async function installSqlFunctions(execute: (sql: string) => Promise<Array<Record<string, unknown>>>): Promise<string[]> {
  await execute(`create table if not exists sql_source (name varchar(128) primary key, sha256 char(64) not null, installed_at timestamptz not null)`);
  const seen = new Map((await execute('select name, sha256 from sql_source')).map((r) => [r.name as string, r.sha256 as string]));
  const installed: string[] = [];
  for (const file of sqlFunctionFiles()) {
    if (seen.get(file.name) === file.sha256) continue;
    try {
      await execute(file.text);
    } catch (err) {
      throw new Error(`installing src/db/functions/${file.name}.sql failed: ${(err as Error).message}` +
        (/cannot change (return type|name of input parameter)/.test((err as Error).message) ? ' (a new signature needs a migration that drops the old function first)' : ''));
    }
    await execute(`insert into sql_source (name, sha256, installed_at) values ('${file.name}', '${file.sha256}', now())
                   on conflict (name) do update set sha256 = excluded.sha256, installed_at = excluded.installed_at`);
    installed.push(file.name);
  }
  return installed;
}
