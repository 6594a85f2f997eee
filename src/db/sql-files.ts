import { readFileSync } from 'node:fs';

/**
 * The text of a SQL function or trigger kept as source in `src/db/functions/<name>.sql`: one
 * current definition per file (`create or replace`), which migrations install.
 */
export function sqlFunction(name: string): string {
  return readFileSync(new URL(`./functions/${name}.sql`, import.meta.url), 'utf8');
}
