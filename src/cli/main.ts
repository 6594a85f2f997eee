import 'reflect-metadata';
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { configVariables, ConfigError } from '../config/config.js';
import { AppError } from '../shared/errors.js';
import { registerInvoiceCommands } from './commands/invoices.js';
import { registerKeyCommands } from './commands/keys.js';
import { registerMarginsCommand } from './commands/margins.js';
import { registerPartitionCommands } from './commands/partitions.js';
import { registerReconcileCommand } from './commands/reconcile.js';
import { registerRuleCommands } from './commands/rules.js';
import { registerSchemaCommands } from './commands/schema.js';
import { serve } from './commands/serve.js';
import { migrate } from '../db/orm.js';
import { withDatabase } from './runtime.js';

const packageJson = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
const program = new Command('billing').description('Real-time billing for usage-priced AI products').version(packageJson.version, '-V, --version');
// Usage errors exit 2, as other Unix tools do; commander has printed the reason by then.
program.exitOverride();

program
  .command('serve')
  .description('run the API server')
  .addHelpText('after', () => {
    const vars = configVariables();
    const width = Math.max(...vars.map((v) => v.name.length));
    const lines = vars.map((v) => `  ${v.name.padEnd(width)}  ${v.default === null ? '(unset)' : v.default}`);
    return `\nEnvironment variables (name and default; the README's "Configuration" says what each does):\n${lines.join('\n')}\n`;
  })
  .action(serve);

program
  .command('migrate')
  .description('apply pending database migrations')
  .action(async () => {
    await withDatabase(async (orm) => {
      const applied = await migrate(orm);
      process.stdout.write(applied.length ? `applied ${applied.join(', ')}\n` : 'database is up to date\n');
    }, { migrated: false });
  });

registerKeyCommands(program);
registerRuleCommands(program);
registerReconcileCommand(program);
registerInvoiceCommands(program);
registerMarginsCommand(program);
registerPartitionCommands(program);
registerSchemaCommands(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
  if (err instanceof ConfigError || err instanceof AppError) process.stderr.write(`${err.message}\n`);
  else process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
