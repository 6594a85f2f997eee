import type { Command } from 'commander';
import { SqlPool } from '../../db/sql.js';
import { formatMarginReport, MarginGroupBy, MarginRepository, MarginService } from '../../modules/margins/index.js';
import { ValidationError } from '../../shared/errors.js';
import { withDatabase } from '../runtime.js';

const BY = ['model', 'customer', 'plan', 'day'];

/**
 * `billing margins`: revenue, cost, margin and margin percent of the usage events recorded in a
 * window, per model, customer, plan or day (the `margins` query, without its window limit).
 */
export function registerMarginsCommand(program: Command): void {
  program
    .command('margins')
    .description('revenue, cost and margin of the usage events that occurred in [--from, --to), per model, customer, plan or day')
    .requiredOption('--from <iso>', 'events that occurred at or after this instant')
    .requiredOption('--to <iso>', 'and before this one')
    .option('--by <group>', `what rows are grouped by: ${BY.join(', ')}`, 'model')
    .option('--customer <id>', 'only this customer (id or external id)')
    .option('--json', 'print the report as JSON')
    .action(async (opts: { from: string; to: string; by: string; customer?: string; json?: boolean }) => {
      if (!BY.includes(opts.by)) {
        process.stderr.write(`--by: must be one of ${BY.join(', ')}\n`);
        process.exitCode = 2;
        return;
      }
      await withDatabase(async (_orm, _config, _logger, databaseUrl) => {
        const sql = new SqlPool(databaseUrl, 1);
        try {
          const service = new MarginService(new MarginRepository(sql), null);
          const report = await service.margins({ from: new Date(opts.from), to: new Date(opts.to), groupBy: opts.by.toUpperCase() as MarginGroupBy, customer: opts.customer ?? null });
          process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatMarginReport(report));
        } catch (err) {
          if (!(err instanceof ValidationError)) throw err;
          for (const p of err.problems) process.stderr.write(`--${p.path === 'groupBy' ? 'by' : p.path}: ${p.message}\n`);
          process.exitCode = 1;
        } finally {
          await sql.close();
        }
      });
    });
}
