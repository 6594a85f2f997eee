import 'reflect-metadata';
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { configVariables, ConfigError } from '../config/config.js';
import { AppError } from '../shared/errors.js';

type Register = (program: Command) => void;

/**
 * The commands, by their first word, each loaded only when asked for: the service's modules
 * take a second or two to load, which `billing rules validate` or `--version` need not wait for.
 * Help, and a word that is no command, load them all.
 */
const COMMANDS: Record<string, () => Promise<Register>> = {
  keys: async () => (await import('./commands/keys.js')).registerKeyCommands,
  rules: async () => (await import('./commands/rules.js')).registerRuleCommands,
  reconcile: async () => (await import('./commands/reconcile.js')).registerReconcileCommand,
  invoices: async () => (await import('./commands/invoices.js')).registerInvoiceCommands,
  margins: async () => (await import('./commands/margins.js')).registerMarginsCommand,
  partitions: async () => (await import('./commands/partitions.js')).registerPartitionCommands,
  schema: async () => (await import('./commands/schema.js')).registerSchemaCommands,
};

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
  .action(async () => (await import('./commands/serve.js')).serve());

program
  .command('migrate')
  .description('apply pending database migrations')
  .action(async () => {
    const [{ migrate }, { withDatabase }] = await Promise.all([import('../db/orm.js'), import('./runtime.js')]);
    await withDatabase(async (orm) => {
      const applied = await migrate(orm);
      process.stdout.write(applied.length ? `applied ${applied.join(', ')}\n` : 'database is up to date\n');
    }, { migrated: false });
  });

const word = process.argv.slice(2).find((arg) => !arg.startsWith('-'));
const version = word === undefined && process.argv.slice(2).some((arg) => arg === '-V' || arg === '--version');
const wanted = word !== undefined && word in COMMANDS ? [COMMANDS[word]!] : version || word === 'serve' || word === 'migrate' ? [] : Object.values(COMMANDS);
for (const register of await Promise.all(wanted.map((load) => load()))) register(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
  if (err instanceof ConfigError || err instanceof AppError) process.stderr.write(`${err.message}\n`);
  else process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
