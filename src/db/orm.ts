import { MikroORM, type EntityManager } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import { migrations } from '../../migrations/index.js';
import type { Logger } from '../shared/logger.js';
import { entities } from './entities.js';
import { installSqlSources } from './sql-files.js';

export type { EntityManager };
export type Orm = MikroORM;

/**
 * Opens the ORM over the entity schemas of every module; it does not touch the schema. The query
 * builder's own messages (a dropped connection, say) go to the logger at debug level rather than
 * to the console: callers see the failure itself as SERVICE_UNAVAILABLE.
 */
export async function openOrm(url: string, poolSize: number, logger?: Logger): Promise<Orm> {
  const quiet = (level: 'debug') => (message: unknown) => logger?.[level]({ orm: String(message) });
  return MikroORM.init({
    driverOptions: { log: { warn: quiet('debug'), error: quiet('debug'), deprecate: quiet('debug'), debug: quiet('debug') } },
    clientUrl: url,
    entities,
    extensions: [Migrator],
    discovery: { disableDynamicFileAccess: true, requireEntitiesArray: true },
    migrations: {
      migrationsList: migrations,
      tableName: 'mikro_orm_migrations',
      transactional: true,
      allOrNothing: true,
      silent: true,
      snapshot: false,
    },
    pool: { min: 0, max: poolSize },
    forceUtcTimezone: true,
    allowGlobalContext: false,
    debug: false,
  });
}

/** A lock number shared by every process that migrates the same database. */
const MIGRATION_LOCK = 7_231_004_117;

/**
 * Applies pending migrations, one process at a time, then installs the SQL function and trigger
 * files the database has not seen (src/db/sql-files.ts). Returns the names applied and installed.
 */
export async function migrate(orm: Orm): Promise<string[]> {
  const conn = orm.em.getConnection();
  return conn.transactional(async (trx) => {
    await conn.execute('select pg_advisory_xact_lock(?)', [MIGRATION_LOCK], 'run', trx);
    const applied = await orm.getMigrator().up();
    const installed = await installSqlSources((text) => conn.execute(text, [], 'all', trx));
    return [...applied.map((m) => m.name), ...installed];
  });
}
