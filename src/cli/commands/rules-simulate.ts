import type { Command } from 'commander';
import { SqlPool } from '../../db/sql.js';
import { readRuleFiles, RulePathMissing } from '../../modules/rules/index.js';
import { formatSimulationReport, SimulationRepository, SimulationService } from '../../modules/simulations/index.js';
import { ValidationError } from '../../shared/errors.js';
import { withDatabase } from '../runtime.js';

/**
 * `billing rules simulate`: re-rates the events recorded in a window under a candidate rules
 * folder and prints revenue as charged and as the candidate would charge it.
 */
export function registerSimulateCommand(rules: Command): void {
  rules
    .command('simulate')
    .description('re-rate the events recorded in [--from, --to) under a candidate rules folder; revenue per customer, per model and per rule set')
    .requiredOption('--rules <dir>', 'the candidate rules folder (or one rule file)')
    .requiredOption('--from <iso>', 'events that occurred at or after this instant')
    .requiredOption('--to <iso>', 'and before this one')
    .option('--customer <id...>', 'only these customers (ids or external ids)')
    .option('--by <dimension>', 'the dimension revenue is also split by', 'model')
    .option('--json', 'print the report as JSON')
    .action(async (opts: { rules: string; from: string; to: string; customer?: string[]; by: string; json?: boolean }) => {
      let candidate;
      try {
        candidate = await readRuleFiles(opts.rules, { mustExist: true });
      } catch (err) {
        if (!(err instanceof RulePathMissing)) throw err;
        process.stderr.write(`${err.message}\n`);
        process.exitCode = 2;
        return;
      }
      const from = new Date(opts.from);
      const to = new Date(opts.to);
      await withDatabase(async (_orm, _config, _logger, databaseUrl) => {
        const sql = new SqlPool(databaseUrl, 2);
        try {
          const service = new SimulationService(new SimulationRepository(sql), { statementTimeoutMs: null, maxWindowDays: null });
          const report = await service.simulate({ candidate, from, to, customers: opts.customer ?? null, by: opts.by });
          process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatSimulationReport(report));
        } catch (err) {
          if (!(err instanceof ValidationError)) throw err;
          for (const p of err.problems) process.stderr.write(`${p.path === 'from' || p.path === 'to' || p.path === 'by' || p.path === 'customers' ? `--${p.path === 'customers' ? 'customer' : p.path}: ` : ''}${p.message}\n`);
          process.exitCode = 1;
        } finally {
          await sql.close();
        }
      });
    });
}
