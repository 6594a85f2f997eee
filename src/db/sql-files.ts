import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';

/*
 * SQL functions and triggers are source: each lives in its own file with its one current
 * definition, a function in `src/db/functions/<name>.sql` (`create or replace function <name>`),
 * a trigger in `src/db/triggers/<name>.sql` (`create or replace trigger <name> ... on <table>`).
 * A migration that introduces one, or needs a newer version at its point (a trigger on it, a
 * backfill), loads the file; and every migrate ends by installing the files whose text the
 * database has not seen yet (their SHA-256 is kept in sql_source): functions first, then the
 * triggers that call them. So a database, new or upgraded, always runs exactly what the files
 * say, and a change to a function or a trigger is a change to its file.
 *
 * History stays intact because a migration that changes one also loads the file, at its own point,
 * and the migrations before it keep loading the file only while the current text still fits the
 * schema they see. When it no longer does (a trigger that names a column added later, say), the
 * migration that created it keeps the text it created, inline, and a new migration loads the file.
 * Dropping one, or moving a trigger to another table, takes a new migration (re-applying a file
 * never drops anything); the file goes, the migration that created it keeps its text inline, and
 * sql_source forgets a file that is gone (so one brought back is installed again).
 */

type Kind = 'function' | 'trigger';

/** Each kind's folder, and its files' names in sql_source (functions came first and kept bare names). */
const KINDS: Array<{ kind: Kind; folder: URL; dir: string; key: (name: string) => string }> = [
  { kind: 'function', folder: new URL('./functions/', import.meta.url), dir: 'src/db/functions', key: (name) => name },
  { kind: 'trigger', folder: new URL('./triggers/', import.meta.url), dir: 'src/db/triggers', key: (name) => `triggers/${name}` },
];

export interface SqlSourceFile {
  kind: Kind;
  /** The function's or trigger's name: the file's. */
  name: string;
  /** Where the file lives in the repository, as migrate reports it. */
  path: string;
  /** Its row in sql_source. */
  key: string;
  text: string;
  sha256: string;
}

function kind(of: Kind) {
  return KINDS.find((k) => k.kind === of)!;
}

/** The text of one function's file. */
export function sqlFunction(name: string): string {
  return readFileSync(new URL(`${name}.sql`, kind('function').folder), 'utf8');
}

/** The text of one trigger's file. */
export function sqlTrigger(name: string): string {
  return readFileSync(new URL(`${name}.sql`, kind('trigger').folder), 'utf8');
}

function filesOf(of: Kind): SqlSourceFile[] {
  const { folder, dir, key } = kind(of);
  return readdirSync(folder)
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((f) => {
      const text = readFileSync(new URL(f, folder), 'utf8');
      const name = f.slice(0, -4);
      return { kind: of, name, path: `${dir}/${f}`, key: key(name), text, sha256: createHash('sha256').update(text).digest('hex') };
    });
}

/** Every function file, in name order. */
export function sqlFunctionFiles(): SqlSourceFile[] {
  return filesOf('function');
}

/** Every trigger file, in name order. */
export function sqlTriggerFiles(): SqlSourceFile[] {
  return filesOf('trigger');
}

/** Every file, in the order they install: functions, then the triggers that call them. */
export function sqlSourceFiles(): SqlSourceFile[] {
  return [...sqlFunctionFiles(), ...sqlTriggerFiles()];
}

type Execute = (sql: string) => Promise<Array<Record<string, unknown>>>;

/**
 * Installs the files the database has not seen in their current text; returns their repository
 * paths (`src/db/functions/<name>.sql`, `src/db/triggers/<name>.sql`). Runs inside the
 * migration's transaction (`execute` runs one statement there), after the migrations.
 */
export async function installSqlSources(execute: Execute): Promise<string[]> {
  await execute(`create table if not exists sql_source (name varchar(128) primary key, sha256 char(64) not null, installed_at timestamptz not null)`);
  const seen = new Map((await execute('select name, sha256 from sql_source')).map((r) => [r.name as string, r.sha256 as string]));
  const files = sqlSourceFiles();
  const installed: string[] = [];
  for (const file of files) {
    if (seen.get(file.key) === file.sha256) continue;
    try {
      await execute(file.text);
    } catch (err) {
      const message = (err as Error).message;
      throw new Error(`installing ${file.path} failed: ${message}` +
        (/cannot change (return type|name of input parameter)/.test(message) ? ' (a new signature needs a migration that drops the old function first)' : ''));
    }
    await execute(`insert into sql_source (name, sha256, installed_at) values ('${file.key}', '${file.sha256}', now())
                   on conflict (name) do update set sha256 = excluded.sha256, installed_at = excluded.installed_at`);
    installed.push(file.path);
  }
  // A file that is gone is forgotten, so that one brought back is installed again.
  const keys = new Set(files.map((f) => f.key));
  const gone = [...seen.keys()].filter((k) => !keys.has(k));
  if (gone.length) await execute(`delete from sql_source where name in (${gone.map((k) => `'${k.replace(/'/g, "''")}'`).join(', ')})`);
  return installed;
}
