import { readFile, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { buildAppSchema, printAppSchema } from '../../graphql/schema.js';

export async function currentSchemaText(): Promise<string> {
  return printAppSchema(await buildAppSchema(new Map()));
}

/** `billing schema emit|check`: schema.graphql is emitted from the code and must not drift. */
export function registerSchemaCommands(program: Command): void {
  const schema = program.command('schema').description('the GraphQL schema file');
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
}
