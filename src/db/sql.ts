import pg from 'pg';
import { AppError, ErrorCode, serviceUnavailable } from '../shared/errors.js';

/** Values PostgreSQL accepts as query parameters here. */
export type SqlParam = string | number | boolean | bigint | Date | null | readonly SqlParam[] | Buffer | Record<string, unknown>;

export type SqlClient = Pick<pg.PoolClient, 'query'>;

/**
 * Plain SQL over a pg pool, for the ledger and other paths where the unit of work adds
 * nothing. Connection failures surface as SERVICE_UNAVAILABLE; everything else as is.
 */
export class SqlPool {
  readonly pool: pg.Pool;

  /**
   * `settings`: session settings every connection starts with (PostgreSQL's `-c name=value`
   * options), for a pool that serves one kind of statement.
   * `maxLifetimeSeconds`: a connection is replaced once it is that old. A session keeps the plans
   * of its SQL functions' statements for as long as it lives, and a plan made while a table was
   * nearly empty (the first minutes of a database, or statistics never refreshed) can pick the
   * wrong index for good: usage_commit's idempotency lookup then read every event of the
   * customer instead of one key, and commits slowed with each event. A new session plans with
   * the table's current size.
   */
  constructor(
    url: string,
    size: number,
    options: { statementTimeoutMs?: number; settings?: Record<string, string>; maxLifetimeSeconds?: number; connectTimeoutMs?: number; applicationName?: string } = {},
  ) {
    const statementTimeout = options.statementTimeoutMs ?? 30_000;
    this.pool = new pg.Pool({
      connectionString: url,
      ...(options.settings ? { options: Object.entries(options.settings).map(([k, v]) => `-c ${k}=${v}`).join(' ') } : {}),
      ...(options.applicationName ? { application_name: options.applicationName } : {}),
      max: size,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
      idleTimeoutMillis: 30_000,
      maxLifetimeSeconds: options.maxLifetimeSeconds ?? 600,
      // Bound every statement so an unreachable or stuck database fails a request, not hangs it.
      statement_timeout: statementTimeout,
      query_timeout: statementTimeout + 5_000,
    });
    // An idle client losing its connection must not crash the process; the next query reconnects.
    this.pool.on('error', () => undefined);
  }

  async query<R extends pg.QueryResultRow = Record<string, unknown>>(text: string, params: SqlParam[] = []): Promise<R[]> {
    try {
      const result = await this.pool.query<R>(text, params as unknown[]);
      return result.rows;
    } catch (err) {
      throw asUnavailable(err);
    }
  }

  /**
   * Runs fn in one transaction (a read-only snapshot with `snapshot`); commits when it resolves,
   * rolls back when it throws. A deadlock
   * or serialization failure reruns fn (it must not have effects outside the transaction), and
   * after the last attempt surfaces as a retryable CONFLICT.
   */
  async transaction<T>(fn: (client: SqlClient) => Promise<T>, options: { snapshot?: boolean } = {}): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.transactionOnce(fn, options.snapshot ? 'begin isolation level repeatable read read only' : 'begin');
      } catch (err) {
        if (!isSerializationFailure(err)) throw err;
        if (attempt >= 3) throw new AppError(ErrorCode.CONFLICT, 'the request collided with concurrent changes; retry it');
      }
    }
  }

  private async transactionOnce<T>(fn: (client: SqlClient) => Promise<T>, begin: string): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw asUnavailable(err);
    }
    let broken = false;
    try {
      await client.query(begin);
      const result = await fn(client);
      await client.query('commit');
      return result;
    } catch (err) {
      try {
        await client.query('rollback');
      } catch {
        broken = true;
      }
      throw asUnavailable(err);
    } finally {
      client.release(broken);
    }
  }

  /** Resolves when the database answers a trivial statement (readiness checks). */
  async ping(): Promise<void> {
    await this.query('select 1');
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/**
 * The SQL pools of a server, one per kind of work, so that no kind can take the connections of
 * another. The ORM keeps a pool of its own for configuration entities (src/db/orm.ts).
 */
export interface SqlPools {
  /** Money moves and every other write of the SQL repositories, with the reads they need. */
  write: SqlPool;
  /**
   * Reads an API caller can make expensive (usage reports, invoice reads and previews, alert and
   * webhook delivery lists): a short statement timeout, and few connections, so that however many
   * a caller sends, they cannot take the connections money moves on. With a read replica, they
   * go there (src/db/read-replica.ts).
   */
  read: SqlPool;
  /** The usage group commit, one connection per lane, with session settings of its own. */
  commit: SqlPool;
}

export interface SqlPoolSizes {
  write: number;
  read: number;
  readStatementTimeoutMs: number;
  commit: number;
  commitSettings: Record<string, string>;
}

/** `read`: the read pool when it is opened elsewhere (over a replica: src/db/read-replica.ts). */
export function openSqlPools(url: string, sizes: SqlPoolSizes, read?: SqlPool): SqlPools {
  return {
    write: new SqlPool(url, sizes.write),
    read: read ?? new SqlPool(url, sizes.read, { statementTimeoutMs: sizes.readStatementTimeoutMs }),
    // The commit connections run usage_commit all day: they are replaced every half minute, so
    // its plans follow the tables' growth (see maxLifetimeSeconds).
    commit: new SqlPool(url, sizes.commit, { settings: sizes.commitSettings, maxLifetimeSeconds: 30 }),
  };
}

export async function closeSqlPools(pools: SqlPools): Promise<void> {
  await Promise.all([pools.write.close(), pools.read.close(), pools.commit.close()]);
}

interface PgError {
  code?: string;
  constraint?: string;
}

/**
 * Connection failures, the server shutting down or starting (57P0x), connection exceptions
 * (08xxx), and a server out of connection slots (53300 too_many_connections): all pass, so the
 * caller may retry.
 */
const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', '57P01', '57P02', '57P03', '08000', '08003', '08006', '08001', '08004', '53300']);

/** True when err means the database could not be reached, so the caller may retry. */
export function isConnectionError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as PgError).code;
  if (code && CONNECTION_CODES.has(code)) return true;
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/.test(err.message);
}

/** A lost or refused database connection (from pg or the ORM) as SERVICE_UNAVAILABLE; anything else as it is. */
export function asUnavailable(err: unknown): unknown {
  if (err instanceof AppError) return err;
  if (isConnectionError(err)) return serviceUnavailable('the database');
  return err;
}

export const isUniqueViolation = (err: unknown, constraint?: string): boolean =>
  (err as PgError)?.code === '23505' && (constraint === undefined || (err as PgError).constraint === constraint);

export const isCheckViolation = (err: unknown, constraint?: string): boolean =>
  (err as PgError)?.code === '23514' && (constraint === undefined || (err as PgError).constraint === constraint);

export const isNumericOverflow = (err: unknown): boolean => (err as PgError)?.code === '22003';

export const isSerializationFailure = (err: unknown): boolean => ['40001', '40P01'].includes((err as PgError)?.code ?? '');

export const outOfRange = (what: string): AppError =>
  new AppError(ErrorCode.AMOUNT_OUT_OF_RANGE, `${what} is outside the range the ledger can hold`);
