import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { ConfigError, loadConfig } from '../../config/config.js';
import { freshSchemaDump, lineDiff } from '../../db/schema-dump.js';
import { buildAppSchema, printAppSchema } from '../../graphql/schema.js';
import { webhookSchemaFiles } from '../../modules/webhooks/index.js';

export async function currentSchemaText(): Promise<string> {
  return printAppSchema(await buildAppSchema(new Map()));
}

/**
 * `billing schema emit|check`: schema.graphql is emitted from the code and must not drift.
 * `billing schema sql [--check]`: schema.sql is dumped from a fresh migrate and must not drift.
 * `billing schema webhooks [dir] [--check]`: the JSON Schemas of the webhook catalogue, one file per topic.
 */
export function registerSchemaCommands(program: Command): void {
  const schema = program.command('schema').description('the GraphQL schema file and the SQL schema file');
  schema
    .command('emit [file]')
    .description('write the schema emitted from the code')
    .action(async (file = 'schema.graphql') => {
      await writeFile(file, await currentSchemaText());
      process.stdout.write(`wrote ${file}\n`);
    });
  schema
    .command('check [file]')
    .description('exit 1 when the file differs from the schema emitted from the code')
    .action(async (file = 'schema.graphql') => {
      const committed = await readFile(file, 'utf8').catch(() => '');
      if (committed !== (await currentSchemaText())) {
        process.stderr.write(`${file} differs from the schema in the code; run npm run schema:emit and commit it\n`);
        process.exitCode = 1;
        return;
      }
      process.stdout.write(`${file} matches the code\n`);
    });
  schema
    .command('sql [file]')
    .description('write schema.sql: the database schema after a fresh migrate, dumped by pg_dump (DATABASE_URL: a server where a scratch database may be created and dropped)')
    .option('--check', 'write nothing; exit 1 when the file differs from a fresh migrate')
    .action(async (file = 'schema.sql', options: { check?: boolean }) => {
      const { databaseUrl } = loadConfig();
      // The embedded PostgreSQL has another major version than the one schema.sql is dumped from.
      if (!databaseUrl) throw new ConfigError(['billing schema sql needs DATABASE_URL: a PostgreSQL server where it may create and drop a scratch database']);
      const dump = await freshSchemaDump(databaseUrl);
      if (!options.check) {
        await writeFile(file, dump);
        process.stdout.write(`wrote ${file}\n`);
        return;
      }
      const committed = await readFile(file, 'utf8').catch(() => '');
      if (committed !== dump) {
        process.stderr.write(`${file} differs from the schema of a fresh migrate (- ${file}, + the migrated database); run npm run schema:sql and commit it\n${lineDiff(committed, dump)}\n`);
        process.exitCode = 1;
        return;
      }
      process.stdout.write(`${file} matches a fresh migrate\n`);
    });
  schema
    .command('webhooks [dir]')
    .description('write the JSON Schema of each webhook topic\'s body (<topic>.schema.json), from the webhook catalogue in the code')
    .option('--check', 'write nothing; exit 1 when the folder differs from the catalogue')
    .action(async (dir = 'docs/webhooks', options: { check?: boolean }) => {
      const files = webhookSchemaFiles();
      const present = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('.schema.json'));
      const stale = present.filter((f) => !files.some((x) => x.file === f));
      if (options.check) {
        const differ = [];
        for (const f of files) if ((await readFile(path.join(dir, f.file), 'utf8').catch(() => '')) !== f.text) differ.push(f.file);
        if (differ.length + stale.length > 0) {
          process.stderr.write(`${dir} differs from the webhook catalogue (${[...differ, ...stale].join(', ')}); run npm run schema:webhooks and commit it\n`);
          process.exitCode = 1;
          return;
        }
        process.stdout.write(`${dir} matches the webhook catalogue\n`);
        return;
      }
      await mkdir(dir, { recursive: true });
      for (const f of stale) await rm(path.join(dir, f));
      for (const f of files) await writeFile(path.join(dir, f.file), f.text);
      process.stdout.write(`wrote ${files.length} schemas to ${dir}\n`);
    });
}
