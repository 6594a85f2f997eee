import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { startServing } from '../cli/commands/serve.js';
import { Role } from '../modules/api-keys/index.js';
import { runDemo } from './demo.scenario.js';

/**
 * `npm run demo [-- --days <n>]`: starts the server as `billing serve` does (the embedded
 * default unless DATABASE_URL / REDIS_URL are set), tells the demo's story through its API, prints
 * the links to look at on stderr (stdout carries the JSON log lines only), then serves until
 * SIGINT or SIGTERM and drains. Every run makes a new customer on a new test clock; the meters,
 * tax rate and plan of an earlier run are reused.
 */

const USAGE = `usage: npm run demo [-- --days <1-31>]

Starts the service with a demo customer on a test clock: a month of model usage, its invoice
finalized, and links to the customer's dashboard and the invoice. --days records usage for the
first <n> days of the month only (the month still closes).`;

function daysOption(argv: string[]): number {
  let values: { days?: string; help?: boolean };
  try {
    values = parseArgs({ args: argv, options: { days: { type: 'string' }, help: { type: 'boolean', short: 'h' } } }).values;
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }
  if (values.help) {
    process.stderr.write(`${USAGE}\n`);
    process.exit(0);
  }
  const days = values.days === undefined ? 31 : Number(values.days);
  if (!Number.isInteger(days) || days < 1 || days > 31) {
    process.stderr.write(`--days: must be a whole number from 1 to 31\n${USAGE}\n`);
    process.exit(2);
  }
  return days;
}

async function main(): Promise<void> {
  const days = daysOption(process.argv.slice(2));
  // As `billing serve`: a signal at any point drains and exits, the demo's own requests included.
  const { app, config, origin, stopping } = await startServing();

  const { secret } = await app.services.apiKeys.create({ name: 'demo admin', role: Role.ADMIN });
  const say = (line: string) => void process.stderr.write(`${line}\n`);
  const started = performance.now();
  const runId = randomBytes(4).toString('hex');
  let result;
  try {
    result = await runDemo({ origin, adminKey: secret, days, graceMs: config.invoices.graceMs, runId, say });
  } catch (err) {
    if (stopping()) return;
    say(`the demo failed: ${err instanceof Error ? err.message : String(err)}`);
    await app.stop().catch(() => undefined);
    process.exit(1);
  }
  const refused = Object.entries(result.events.refused).map(([code, n]) => `${n} ${code}`);
  const dashboard = `${origin}/dashboard#token=${encodeURIComponent(result.customerToken)}&customer=${encodeURIComponent(result.customerId)}`;
  say(
    [
      '',
      `Demo ready in ${((performance.now() - started) / 1000).toFixed(1)} s: ${result.events.accepted} of ${result.events.sent} usage events accepted${refused.length ? ` (refused: ${refused.join(', ')})` : ''}.`,
      '',
      `Dashboard of ${result.customerName} (the link works until ${result.tokenExpiresAt}):`,
      `  ${dashboard}`,
      `Invoice ${result.invoice.number} (${result.invoice.total} ${result.invoice.currency}), page and PDF:`,
      `  ${result.invoiceHtml}`,
      `  ${result.invoicePdf}`,
      'ADMIN key (for the API at ' + `${origin}/graphql):`,
      `  ${secret}`,
      '',
      'Serving until Ctrl-C.',
      '',
    ].join('\n'),
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
