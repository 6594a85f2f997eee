import type { Command } from 'commander';
import { loadConfig } from '../../config/config.js';
import { SqlPool } from '../../db/sql.js';
import { AccountRepository, HoldSweeper, Reconciler, createRedisClient, RedisReservationStore, redisTargetOf, ReservationRepository } from '../../modules/reservations/index.js';
import { UsageRepository } from '../../modules/usage/index.js';
import { systemClock } from '../../shared/clock.js';
import { cliLogger } from '../runtime.js';

/** Exit codes of `billing reconcile`: no drift, drift found (printed), could not run. */
export const RECONCILE_EXIT = { CLEAN: 0, DRIFT: 1, FAILED: 2 } as const;

/**
 * `billing reconcile [--repair]`: compares the reservation store with PostgreSQL. Exits 0 when
 * nothing drifts, 1 when something did (each difference printed; with --repair also after
 * repairing it), 2 when it could not run (no Redis configured, a service unreachable, bad
 * arguments), with the reason on stderr.
 */
export function registerReconcileCommand(program: Command): void {
  program
    .command('reconcile')
    .description("compare every customer's reservation-store state with PostgreSQL; exit 0 clean, 1 drift (printed), 2 could not run; --repair rebuilds what drifts")
    .option('--repair', 'drop the state of drifting customers (it is rebuilt from PostgreSQL on next use)')
    .action(async (opts: { repair?: boolean }) => {
      process.exitCode = await reconcile(!!opts.repair).catch((err: unknown) => {
        process.stderr.write(`reconcile could not run: ${err instanceof Error ? err.message : String(err)}\n`);
        return RECONCILE_EXIT.FAILED;
      });
    });
}

async function reconcile(repair: boolean): Promise<number> {
  const config = loadConfig();
  const redisTarget = redisTargetOf(config);
  if (!redisTarget || !config.databaseUrl) {
    process.stderr.write('reconcile could not run: it needs DATABASE_URL and REDIS_URL or REDIS_CLUSTER_NODES (the in-process store lives inside the server and is rebuilt at every start)\n');
    return RECONCILE_EXIT.FAILED;
  }
  const logger = cliLogger(config);
  const sql = new SqlPool(config.databaseUrl, 4);
  const redis = createRedisClient(redisTarget);
  let redisError: Error | undefined;
  redis.on('error', (err: Error) => (redisError = err));
  try {
    await redis.connect().catch((err: Error) => {
      const where = 'url' in redisTarget ? redactUrl(redisTarget.url) : `${redisTarget.clusterNodes.map(redactUrl).join(', ')} (a cluster)`;
      throw new Error(`Redis at ${where} is unreachable (${(redisError ?? err).message})`);
    });
    await sql.ping().catch((err: Error) => {
      throw new Error(`PostgreSQL at ${redactUrl(config.databaseUrl!)} is unreachable (${err.message})`);
    });
    const store = new RedisReservationStore(redis, config.redisPrefix);
    const accounts = new AccountRepository(sql);
    const sweeper = new HoldSweeper(store, accounts, new UsageRepository(sql), new ReservationRepository(sql), systemClock, logger);
    const reconciler = new Reconciler(store, accounts, sweeper, systemClock);
    const report = await reconciler.run(repair);
    for (const d of report.drifts) process.stdout.write(`DRIFT  customer ${d.customerId}  ${d.what}: postgres ${d.postgres}, store ${d.store}\n`);
    process.stdout.write(`${report.customers} customer(s), ${report.checked} cached, ${report.drifts.length} drift(s)${repair ? `, ${report.repaired} repaired` : ''}\n`);
    if (repair && report.drifts.length > 0) {
      const after = await reconciler.run(false);
      process.stdout.write(after.drifts.length > 0 ? `still drifting after repair: ${after.drifts.length}\n` : 'no drift after repair\n');
    }
    return report.drifts.length > 0 ? RECONCILE_EXIT.DRIFT : RECONCILE_EXIT.CLEAN;
  } finally {
    redis.disconnect();
    await sql.close();
  }
}

/** A connection URL (or host:port) without its password, for messages. */
function redactUrl(url: string): string {
  if (!url.includes('://')) return url;
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'the configured address';
  }
}
