import type { Command } from 'commander';
import { loadConfig } from '../../config/config.js';
import { SqlPool } from '../../db/sql.js';
import { AccountRepository } from '../../modules/reservations/account.repository.js';
import { HoldSweeper } from '../../modules/reservations/hold-sweeper.js';
import { Reconciler } from '../../modules/reservations/reconcile.js';
import { createRedisClient, RedisReservationStore } from '../../modules/reservations/redis-store.js';
import { ReservationRepository } from '../../modules/reservations/reservation.repository.js';
import { UsageRepository } from '../../modules/usage/usage.repository.js';
import { systemClock } from '../../shared/clock.js';
import { cliLogger } from '../runtime.js';

/** `billing reconcile [--repair]`: compares the reservation store with PostgreSQL. */
export function registerReconcileCommand(program: Command): void {
  program
    .command('reconcile')
    .description("compare every customer's reservation-store state with PostgreSQL; exit 1 on drift; --repair drops drifting state so it reloads")
    .option('--repair', 'drop the state of drifting customers (it is rebuilt from PostgreSQL on next use)')
    .action(async (opts: { repair?: boolean }) => {
      const config = loadConfig();
      if (!config.redisUrl || !config.databaseUrl) {
        process.stdout.write('reconcile needs DATABASE_URL and REDIS_URL: the in-process store lives inside the server and is rebuilt at every start\n');
        return;
      }
      const logger = cliLogger(config);
      const sql = new SqlPool(config.databaseUrl, 4);
      const redis = createRedisClient(config.redisUrl);
      await redis.connect();
      try {
        const store = new RedisReservationStore(redis, config.redisPrefix);
        const accounts = new AccountRepository(sql);
        const sweeper = new HoldSweeper(store, accounts, new UsageRepository(sql), new ReservationRepository(sql), systemClock, logger);
        const reconciler = new Reconciler(store, accounts, sweeper, systemClock);
        const report = await reconciler.run(!!opts.repair);
        for (const d of report.drifts) process.stdout.write(`DRIFT  customer ${d.customerId}  ${d.what}: postgres ${d.postgres}, store ${d.store}\n`);
        process.stdout.write(`${report.customers} customer(s), ${report.checked} cached, ${report.drifts.length} drift(s)${opts.repair ? `, ${report.repaired} repaired` : ''}\n`);
        if (report.drifts.length > 0 && !opts.repair) process.exitCode = 1;
        if (opts.repair && report.drifts.length > 0) {
          const after = await reconciler.run(false);
          if (after.drifts.length > 0) {
            process.stdout.write(`still drifting after repair: ${after.drifts.length}\n`);
            process.exitCode = 1;
          }
        }
      } finally {
        redis.disconnect();
        await sql.close();
      }
    });
}
