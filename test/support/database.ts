import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { migrations } from '../../migrations/index.js';
import { migrate, openOrm } from '../../src/db/orm.js';
import { databaseUrl, TEST_DATABASE_URL } from './env.js';

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A fresh, migrated database of its own, copied from the run's template. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `billing_test_${randomBytes(6).toString('hex')}`;
  const template = inject('templateDatabase');
  for (let attempt = 0; ; attempt++) {
    try {
      await admin((c) => c.query(`create database ${name} template ${template}`));
      break;
    } catch (err) {
      // Two copies of one template at the same instant can collide; the next attempt succeeds.
      if (attempt >= 20 || !/being accessed by other users/.test(String(err))) throw err;
      await new Promise((r) => setTimeout(r, 50 + Math.random() * 100));
    }
  }
  return {
    name,
    url: databaseUrl(name),
    drop: () => admin((c) => c.query(`drop database if exists ${name} with (force)`)).then(() => undefined),
  };
}

export interface DatabaseBefore {
  /** A connection to the database. */
  db: pg.Client;
  /** Applies the migrations from `migration` on; returns their names. */
  migrateRest(): Promise<string[]>;
  /** Closes the connections and drops the database. */
  close(): Promise<void>;
}

/**
 * A new database migrated up to just before `migration`: to test a migration on data that the
 * versions before it wrote.
 */
export async function databaseBefore(migration: string): Promise<DatabaseBefore> {
  const index = migrations.findIndex((m) => m.name === migration);
  if (index < 1) throw new Error(`no migration before ${migration}`);
  const name = `billing_test_${randomBytes(6).toString('hex')}`;
  await admin((c) => c.query(`create database ${name}`));
  const orm = await openOrm(databaseUrl(name), 2);
  const db = new pg.Client({ connectionString: databaseUrl(name) });
  try {
    await orm.getMigrator().up({ to: migrations[index - 1]!.name });
    await db.connect();
  } catch (err) {
    await orm.close();
    await admin((c) => c.query(`drop database if exists ${name} with (force)`));
    throw err;
  }
  return {
    db,
    migrateRest: () => migrate(orm),
    async close() {
      await db.end().catch(() => undefined);
      await orm.close();
      await admin((c) => c.query(`drop database if exists ${name} with (force)`));
    },
  };
}
