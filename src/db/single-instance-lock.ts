import { createHash } from 'node:crypto';
import pg from 'pg';
import { ConfigError } from '../config/config.js';

/**
 * A PostgreSQL session advisory lock held on a connection of its own for as long as the process
 * runs: only one process at a time holds a given lock on a database, and PostgreSQL lets it go
 * when the process dies (its connection closes).
 */
export class SingleInstanceLock {
  private constructor(private readonly client: pg.Client) {}

  /** Takes the lock, or fails with a message saying another process holds it. */
  static async acquire(databaseUrl: string, what: string): Promise<SingleInstanceLock> {
    const key = createHash('sha256').update(what).digest().readBigInt64BE(0).toString();
    const client = new pg.Client({ connectionString: databaseUrl });
    client.on('error', () => undefined);
    await client.connect();
    const { rows } = await client.query<{ locked: boolean }>('select pg_try_advisory_lock($1::bigint) as locked', [key]);
    if (!rows[0]!.locked) {
      await client.end();
      throw new ConfigError([
        `another billing server already uses the ${what} of this database: the in-process store holds money in one process's memory, so only one server may run on it. Stop the other one, or set REDIS_URL to run several`,
      ]);
    }
    return new SingleInstanceLock(client);
  }

  async release(): Promise<void> {
    await this.client.end().catch(() => undefined);
  }
}
