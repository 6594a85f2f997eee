import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { createApp, type App } from '../../src/app/app.js';
import { loadConfig } from '../../src/config/config.js';
import { Role } from '../../src/modules/api-keys/principal.pure.js';
import type { Clock } from '../../src/shared/clock.js';
import { createTestDatabase, type TestDatabase } from './database.js';
import { TEST_REDIS_URL } from './env.js';
import { TestClient } from './graphql-client.js';
import { Redis } from 'ioredis';

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
  /** Use the real Redis (default) or the in-process store. */
  store?: 'redis' | 'memory';
  clock?: Clock;
  env?: Record<string, string>;
  /** Reuse a database (a second instance of the same deployment). */
  db?: TestDatabase;
  redisPrefix?: string;
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
    MIGRATE_ON_START: 'false',
    LOG_LEVEL: 'silent',
    SHUTDOWN_TIMEOUT_MS: '2000',
    ...options.env,
  });
  const app = await createApp({ config, clock: options.clock, logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }) });
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
      if (store === 'redis') await deleteRedisKeys(redisPrefix);
    },
  };
}

export async function deleteRedisKeys(prefix: string): Promise<void> {
  const redis = new Redis(TEST_REDIS_URL);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
