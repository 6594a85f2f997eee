import type { Command } from 'commander';
import { SqlPool } from '../../db/sql.js';
import { UsagePartitionRepository, UsagePartitionService, type PartitionRow } from '../../modules/usage/index.js';
import { systemClock } from '../../shared/clock.js';
import { withDatabase } from '../runtime.js';

/** A whole number of months in [min, max], or null (and a message on stderr, exit 2). */
function months(option: string, value: string | undefined, min: number, max: number): number | null | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) {
    process.stderr.write(`${option}: ${JSON.stringify(value)} is not a whole number of months from ${min} to ${max}\n`);
    process.exitCode = 2;
    return null;
  }
  return n;
}

const day = (d: Date | null) => (d ? d.toISOString().slice(0, 10) : '');

/** `from..to` of a monthly partition, or `default`. */
const range = (p: { rangeStart: Date | null; rangeEnd: Date | null }) => (p.rangeStart ? `${day(p.rangeStart)}..${day(p.rangeEnd)}` : 'default');

async function withPartitions<T>(fn: (service: UsagePartitionService, retentionMonths: number | null) => Promise<T>): Promise<T> {
  return withDatabase(async (_orm, config, _logger, databaseUrl) => {
    const sql = new SqlPool(databaseUrl, 1);
    try {
      const service = new UsagePartitionService(new UsagePartitionRepository(sql), systemClock, { ...config.partitions, maxAgeMs: config.usage.maxAgeMs });
      return await fn(service, config.partitions.retentionMonths);
    } finally {
      await sql.close();
    }
  });
}

/**
 * `billing partitions ensure [--months n]`: creates usage_event's monthly partitions from the
 * oldest timestamp accepted to n months ahead (USAGE_PARTITIONS_AHEAD_MONTHS), as the service
 * does at start and daily. `billing partitions list`: each partition, its range, rows and size.
 * `billing partitions prune [--dry-run] [--months n]`: retention (USAGE_RETENTION_MONTHS, or n):
 * drops the months older than that whose events are all invoiced and final, and says why it
 * keeps the others. Safe to run beside the service and to rerun.
 */
export function registerPartitionCommands(program: Command): void {
  const partitions = program.command('partitions').description("usage_event's monthly partitions and the retention of raw events");
  partitions
    .command('ensure')
    .description('create the monthly partitions of usage events ahead of time (the service does it at start and daily)')
    .option('--months <n>', 'months ahead of the current one (default: USAGE_PARTITIONS_AHEAD_MONTHS)')
    .action(async (opts: { months?: string }) => {
      const ahead = months('--months', opts.months, 1, 120);
      if (ahead === null) return;
      const created = await withPartitions((service) => service.ensure(ahead));
      process.stdout.write(created.length ? `created ${created.join(', ')}\n` : 'every month has its partition\n');
    });
  partitions
    .command('list')
    .description('each partition of usage events: its months, estimated rows and size on disk')
    .action(async () => {
      const rows = await withPartitions((service) => service.list());
      for (const p of rows) process.stdout.write(`${p.name}  ${range(p)}  ${estimate(p)}  ${mebibytes(p.bytes)}\n`);
      process.stdout.write(`${rows.length} partition(s)\n`);
    });
  partitions
    .command('prune')
    .description('drop the months of raw usage events older than the retention period whose billing periods are invoiced and final; aggregates and invoices stay')
    .option('--dry-run', 'drop nothing; say what would go and why the rest stays')
    .option('--months <n>', 'retention in months (default: USAGE_RETENTION_MONTHS)')
    .action(async (opts: { dryRun?: boolean; months?: string }) => {
      const retention = months('--months', opts.months, 1, 1200);
      if (retention === null) return;
      const report = await withPartitions(async (service, configured) => {
        if (retention === undefined && configured === null) return null;
        return service.prune({ dryRun: !!opts.dryRun, retentionMonths: retention });
      });
      if (!report) {
        process.stderr.write('retention is off: set USAGE_RETENTION_MONTHS, or pass --months\n');
        process.exitCode = 2;
        return;
      }
      for (const p of report.partitions) {
        process.stdout.write(`${p.action.padEnd(10)}  ${p.name}  ${range(p)}${p.events === null ? '' : `  ${p.events} event(s)`}  ${p.reason}\n`);
      }
      const count = (action: string) => report.partitions.filter((p) => p.action === action).length;
      process.stdout.write(
        `retention ${report.retentionMonths} month(s): months ending by ${report.before.toISOString()} may go; ` +
          (opts.dryRun ? `${count('WOULD_DROP')} would be dropped` : `${count('DROPPED')} dropped`) + `, ${count('KEPT')} kept\n`,
      );
    });
}

const estimate = (p: PartitionRow) => (p.estimatedEvents === null ? 'rows unknown (not analysed yet)' : `~${p.estimatedEvents} rows`);
const mebibytes = (bytes: string) => `${(Number(bytes) / 1_048_576).toFixed(1)} MiB`;
