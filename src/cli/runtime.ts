import 'reflect-metadata';
import pino from 'pino';
import { loadConfig, type Config } from '../config/config.js';
import { startEmbeddedPostgres } from '../db/embedded-postgres.js';
import { migrate, openOrm, type Orm } from '../db/orm.js';
import type { Logger } from '../shared/logger.js';

/** CLI logs go to stderr so that stdout carries only the command's output. */
export function cliLogger(config: Config): Logger {
  return pino({ level: config.logLevel === 'info' ? 'warn' : config.logLevel, base: undefined }, pino.destination(2));
}

/**
 * Runs fn with the ORM open on the configured database (the embedded one when DATABASE_URL is
 * unset), migrated (unless `migrated: false`: the migrate command reports what it applies), and
 * closes everything afterwards.
 */
export async function withDatabase<T>(
  fn: (orm: Orm, config: Config, logger: Logger, databaseUrl: string) => Promise<T>,
  options: { migrated?: boolean } = {},
): Promise<T> {
  const config = loadConfig();
  const logger = cliLogger(config);
  const embedded = config.databaseUrl ? undefined : await startEmbeddedPostgres(config.dataDir, config.embeddedPgPort, logger);
  const databaseUrl = config.databaseUrl ?? embedded!.url;
  const orm = await openOrm(databaseUrl, 2);
  try {
    if (options.migrated !== false) await migrate(orm);
    return await fn(orm, config, logger, databaseUrl);
  } finally {
    await orm.close();
    await embedded?.stop();
  }
}
