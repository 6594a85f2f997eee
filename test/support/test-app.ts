import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { createApp, type App } from '../../src/app/app.js';
import { loadConfig } from '../../src/config/config.js';
import { Role } from '../../src/modules/api-keys/principal.pure.js';
import { RedisReservationStore } from '../../src/modules/reservations/redis.store.js';
import type { Clock } from '../../src/shared/clock.js';
import type { Logger } from '../../src/shared/logger.js';
import { createTestDatabase, type TestDatabase } from './database.js';
import { TEST_REDIS_URL } from './env.js';
import { TestClient } from './graphql-client.js';
import { Cluster, Redis } from 'ioredis';
import { inject } from 'vitest';

export interface TestApp {
  app: App;
  db: TestDatabase;
  url: string;
  wsUrl: string;
  adminKey: string;
  admin: TestClient;
  redisPrefix: string;
  client(key?: string): TestClient;
  /** Stops the app, drops its database and deletes its Redis keys. */
  close(): Promise<void>;
}

export interface TestAppOptions {
  /** Use the real Redis (default), the run's Redis Cluster, or the in-process store. */
  store?: 'redis' | 'cluster' | 'memory';
  clock?: Clock;
  env?: Record<string, string>;
  /** Reuse a database (a second instance of the same deployment). */
  db?: TestDatabase;
  redisPrefix?: string;
  /** The app's logger (silent by default, or TEST_LOG_LEVEL). */
  logger?: Logger;
}

/** Starts a real server on a free port, on its own database and Redis prefix. */
export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const ownsDb = !options.db;
  const db = options.db ?? (await createTestDatabase());
  const redisPrefix = options.redisPrefix ?? `test:${randomBytes(4).toString('hex')}:`;
  const store = options.store ?? 'redis';
  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: '0',
    DATABASE_URL: db.url,
    DATABASE_POOL_SIZE: '8',
    ...(store === 'redis' ? { REDIS_URL: TEST_REDIS_URL, REDIS_PREFIX: redisPrefix } : {}),
    ...(store === 'cluster' ? { REDIS_CLUSTER_NODES: inject('redisClusterNodes'), REDIS_PREFIX: redisPrefix } : {}),
    MIGRATE_ON_START: 'false',
    LOG_LEVEL: 'silent',
    SHUTDOWN_TIMEOUT_MS: '2000',
    // Required in production; each app signs its invoice links with its own.
    LINK_SIGNING_SECRET: randomBytes(24).toString('base64url'),
    ...options.env,
  });
  const app = await createApp({ config, clock: options.clock, logger: options.logger ?? pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }) });
  // A cluster run must really be on the cluster, not on a fallback.
  if (store === 'cluster' && !(app.store instanceof RedisReservationStore && app.store.redis instanceof Cluster)) {
    await app.stop();
    throw new Error('the app did not connect to the Redis Cluster');
  }
  const address = await app.listen();
  const origin = `127.0.0.1:${address.port}`;
  const { secret: adminKey } = await app.services.apiKeys.create({ name: 'test admin', role: Role.ADMIN });
  const url = `http://${origin}/graphql`;
  return {
    app,
    db,
    url,
    wsUrl: `ws://${origin}/graphql`,
    adminKey,
    admin: new TestClient(url, adminKey),
    redisPrefix,
    client: (key?: string) => new TestClient(url, key),
    async close() {
      await app.stop();
      if (ownsDb) await db.drop();
      if (store !== 'memory') await deleteRedisKeys(redisPrefix, store === 'cluster' ? options.env?.REDIS_CLUSTER_NODES ?? inject('redisClusterNodes') : undefined);
    },
  };
}

/** Deletes every key under a prefix: on the test Redis, or on each master of a cluster (`host:port,…`). */
export async function deleteRedisKeys(prefix: string, clusterNodes?: string): Promise<void> {
  if (clusterNodes) return deleteClusterKeys(prefix, clusterNodes);
  const redis = new Redis(TEST_REDIS_URL);
  try {
    await deleteScanned(redis, prefix, (keys) => redis.del(...keys));
  } finally {
    redis.disconnect();
  }
}

async function deleteScanned(node: Redis, prefix: string, del: (keys: string[]) => Promise<unknown>): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (keys.length) await del(keys);
    cursor = next;
  } while (cursor !== '0');
}

/** SCAN sees one node: each master is scanned, and keys are deleted one by one (they span slots). */
async function deleteClusterKeys(prefix: string, clusterNodes: string): Promise<void> {
  const cluster = new Cluster(clusterNodes.split(',').map((n) => ({ host: n.split(':')[0]!, port: Number(n.split(':')[1]) })));
  try {
    await new Promise<void>((resolve, reject) => (cluster.once('ready', resolve), cluster.once('error', reject)));
    for (const node of cluster.nodes('master')) await deleteScanned(node, prefix, (keys) => Promise.all(keys.map((k) => cluster.del(k))));
  } finally {
    cluster.disconnect();
  }
}
