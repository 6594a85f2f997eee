import type pg from 'pg';
import { AppError, ErrorCode } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { Metrics } from '../shared/metrics.js';
import { currentCaller } from '../shared/request-scope.js';
import { SqlPool, type SqlClient, type SqlParam } from './sql.js';

export interface ReplicaOptions {
  /** Connections to the replica, and as many to the primary for the reads that fall back. */
  size: number;
  statementTimeoutMs: number;
  /** How long a read of a caller who has written waits for the replica to replay the write, before it goes to the primary. */
  readAfterWriteWaitMs: number;
  /** A replica further behind than this serves no reads until it catches up. */
  maxLagMs: number;
  /** How often the replica's state and lag are measured. */
  checkIntervalMs: number;
}

export type ReplicaCondition = 'starting' | 'ok' | 'lagging' | 'unavailable';

export interface ReplicaHealth {
  state: ReplicaCondition;
  /** How long ago the primary was where the replica's replay is now, to within one check; null until known. */
  lagMs: number | null;
  /** WAL the replica has still to replay, in bytes; null until known. */
  lagBytes: number | null;
  /** Why the replica serves no reads (unavailable). */
  error?: string;
}

export type ReadTarget = 'replica' | 'primary';
/** Why a read went to the primary. */
export type FallbackReason = 'replica_unavailable' | 'replica_lagging' | 'read_after_write' | 'replica_error';

export interface ReplicaObserver {
  /** One read served; `reason` when it went to the primary. */
  served(target: ReadTarget, reason: FallbackReason | null): void;
  /** After every check (and a read that found the replica unreachable): its health, and its condition before. */
  observed(health: ReplicaHealth, previous: ReplicaCondition): void;
  /** A read failed on the replica and was answered by the primary. */
  failedOver(err: unknown): void;
}

/** Counts reads by where they ran, keeps the lag gauge, and logs when the replica's condition changes. */
export function replicaObserver(metrics: Metrics, logger: Logger): ReplicaObserver {
  return {
    served: (target, reason) => metrics.replicaReads.inc({ target, reason: reason ?? 'none' }),
    observed(health, previous) {
      metrics.replicaLag.set(health.state === 'unavailable' || health.lagMs === null ? -1 : health.lagMs / 1000);
      if (health.state === previous) return;
      if (health.state === 'ok') logger.info({ ...health, previous }, 'the read replica serves reads');
      else logger.warn({ ...health, previous }, 'the read replica serves no reads; they go to the primary');
    },
    failedOver: (err) => logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'a read failed on the replica; the primary answered it'),
  };
}

/** Callers remembered at once; past that, the oldest writes are forgotten (their reads may then be stale). */
const MAX_CALLERS = 10_000;
/** How often a read waiting for its caller's write polls the replica's replay position. */
const POLL_MS = 10;
/** The sizes of a WAL page's header, at a segment's start and elsewhere (SizeOfXLogLongPHD, SizeOfXLogShortPHD). */
const LONG_PAGE_HEADER = 40n;
const SHORT_PAGE_HEADER = 24n;

/** A WAL position ('16/B374D848') as a number of bytes. */
export function parseLsn(text: string): bigint {
  const [hi, lo] = text.split('/');
  return (BigInt(`0x${hi}`) << 32n) + BigInt(`0x${lo}`);
}

/**
 * `lookup` for every caller, sharing one run among callers who ask while another runs: each gets
 * the result of a run that started after it asked (so a position read covers what preceded the
 * call), and at most one run waits behind the one under way.
 */
function coalesced<T>(lookup: () => Promise<T>): () => Promise<T> {
  let running: Promise<T> | null = null;
  let queued: Promise<T> | null = null;
  const next = (): Promise<T> => {
    if (!running) {
      running = lookup().finally(() => (running = null));
      return running;
    }
    queued ??= running
      .catch(() => undefined)
      .then(() => {
        queued = null;
        return next();
      });
    return queued;
  };
  return next;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The value of `promise` if it settles by `deadline` (ms since the epoch), else undefined; a rejection gives undefined too. */
async function settledBy<T>(promise: Promise<T>, deadline: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), Math.max(0, deadline - Date.now()))));
  try {
    return await Promise.race([promise.catch(() => undefined), late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The `read` pool when a streaming replica is configured (DATABASE_READ_URL). Reads go to the
 * replica, except:
 *
 * - read-your-writes: after a caller's write, the primary's WAL insert position is remembered for
 *   that caller (its credential); the caller's reads wait up to `readAfterWriteWaitMs` for the
 *   replica to replay that far, then go to the primary. The caller is the one named for the
 *   request being served (`nameCaller`, src/shared/request-scope.ts); reads outside a request
 *   have no writes to wait for.
 * - a replica that does not answer, is no longer in recovery, or lags more than `maxLagMs`
 *   serves nothing until a check finds it well; a read that fails on it for want of a connection
 *   or by a recovery conflict is answered by the primary. Callers never see the replica's errors.
 *
 * The pool itself (the SqlPool this extends) connects to the primary, with the read pool's
 * size and statement timeout, so that fallen-back reads still cannot take the connections money
 * moves on.
 */
export class ReplicaReadPool extends SqlPool {
  private readonly replica: SqlPool;
  /** Per caller: the primary's position after its last write, a lookup under way until known. */
  private readonly floors = new Map<string, Promise<bigint>>();
  /** The furthest replay position seen on the replica: replay only moves forward. */
  private replayed = 0n;
  /** The primary's position at each recent check, oldest first: how long ago it was at a given position. */
  private samples: Array<{ at: number; lsn: bigint }> = [];
  private current: ReplicaHealth = { state: 'starting', lagMs: null, lagBytes: null };
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<void> | null = null;
  /** Where the primary's WAL ends, for the callers who wrote (see writtenTo). */
  private readonly primaryPosition = coalesced(() => this.writtenTo());
  /** The replica's replay position. */
  private readonly replayPosition = coalesced(async () => {
    const [row] = await this.replica.query<{ lsn: string | null }>('select pg_last_wal_replay_lsn()::text as lsn');
    return row?.lsn ? parseLsn(row.lsn) : null;
  });

  constructor(
    primaryUrl: string,
    replicaUrl: string,
    private readonly options: ReplicaOptions,
    private readonly observer: ReplicaObserver,
  ) {
    super(primaryUrl, options.size, { statementTimeoutMs: options.statementTimeoutMs });
    // A replica that cannot be reached is skipped: it need not hold a read up for long.
    this.replica = new SqlPool(replicaUrl, options.size, { statementTimeoutMs: options.statementTimeoutMs, connectTimeoutMs: 2_000, applicationName: 'billing-read' });
  }

  /** Checks the replica once (reads go to the primary until it answers), then every checkIntervalMs. */
  async start(): Promise<void> {
    await this.check();
    this.timer = setInterval(() => void this.check(), this.options.checkIntervalMs);
    this.timer.unref();
  }

  health(): ReplicaHealth {
    return { ...this.current };
  }

  /**
   * The caller has written: until the replica replays past the primary's position now, its reads
   * wait for it or go to the primary. Called after the write committed; does not delay the caller.
   */
  wrote(caller: string): void {
    const floor = this.primaryPosition();
    floor.catch(() => undefined);
    this.floors.delete(caller);
    this.floors.set(caller, floor);
    if (this.floors.size > MAX_CALLERS) this.floors.delete(this.floors.keys().next().value!);
  }

  override async query<R extends pg.QueryResultRow = Record<string, unknown>>(text: string, params: SqlParam[] = []): Promise<R[]> {
    if ((await this.route()) === 'replica') {
      try {
        const rows = await this.replica.query<R>(text, params);
        this.observer.served('replica', null);
        return rows;
      } catch (err) {
        if (!this.failedOnReplica(err)) throw err;
      }
    }
    return super.query<R>(text, params);
  }

  /** A read-only transaction (as every one on this pool is): on the replica, or rerun on the primary. */
  override async transaction<T>(fn: (client: SqlClient) => Promise<T>, options: { snapshot?: boolean } = {}): Promise<T> {
    if ((await this.route()) === 'replica') {
      try {
        const result = await this.replica.transaction(fn, options);
        this.observer.served('replica', null);
        return result;
      } catch (err) {
        if (!this.failedOnReplica(err)) throw err;
      }
    }
    return super.transaction(fn, options);
  }

  /**
   * The end of the primary's last WAL record: at or past the commit record of every transaction
   * that has returned, whether or not its commit waited for a flush. That is the insert
   * position, unless it stands just past a page header, where the next record will begin: the
   * records before then end at the page's start, which is as far as a replica can replay.
   */
  private async writtenTo(): Promise<bigint> {
    const [row] = await super.query<{ lsn: string; block: number; segment: string }>(
      "select pg_current_wal_insert_lsn()::text as lsn, current_setting('wal_block_size')::int as block, pg_size_bytes(current_setting('wal_segment_size'))::text as segment",
    );
    const lsn = parseLsn(row!.lsn);
    if (lsn % BigInt(row!.segment) === LONG_PAGE_HEADER) return lsn - LONG_PAGE_HEADER;
    if (lsn % BigInt(row!.block) === SHORT_PAGE_HEADER) return lsn - SHORT_PAGE_HEADER;
    return lsn;
  }

  /** How far the primary has flushed its WAL: what a replica can have, and on an idle primary, where a caught-up replica stands. */
  private async flushedTo(): Promise<bigint> {
    const [row] = await super.query<{ lsn: string }>('select pg_current_wal_flush_lsn()::text as lsn');
    return parseLsn(row!.lsn);
  }

  override async close(): Promise<void> {
    clearInterval(this.timer);
    await this.checking;
    await Promise.all([super.close(), this.replica.close()]);
  }

  private async route(): Promise<ReadTarget> {
    if (this.current.state !== 'ok') return this.toPrimary(this.current.state === 'lagging' ? 'replica_lagging' : 'replica_unavailable');
    const caller = currentCaller();
    const pending = caller ? this.floors.get(caller) : undefined;
    if (!pending) return 'replica';
    const deadline = Date.now() + this.options.readAfterWriteWaitMs;
    const floor = await settledBy(pending, deadline);
    if (floor !== undefined && (await this.replayedTo(floor, deadline))) {
      // Replay only moves forward: this caller's later reads need not wait for this write again.
      if (this.floors.get(caller!) === pending) this.floors.delete(caller!);
      return 'replica';
    }
    return this.toPrimary('read_after_write');
  }

  private toPrimary(reason: FallbackReason): ReadTarget {
    this.observer.served('primary', reason);
    return 'primary';
  }

  /** True once the replica has replayed to `floor`, polling until `deadline`. */
  private async replayedTo(floor: bigint, deadline: number): Promise<boolean> {
    for (;;) {
      if (this.replayed >= floor) return true;
      if (Date.now() >= deadline) return false;
      const lsn = await settledBy(this.replayPosition(), deadline);
      if (lsn === undefined || lsn === null) return false;
      if (lsn > this.replayed) this.replayed = lsn;
      if (this.replayed >= floor) return true;
      await sleep(Math.min(POLL_MS, Math.max(0, deadline - Date.now())));
    }
  }

  /**
   * True when a read that failed on the replica should be answered by the primary: the replica
   * is unreachable (it then serves nothing until a check finds it well again), a recovery
   * conflict cancelled the statement, or the statement needed a primary.
   */
  private failedOnReplica(err: unknown): boolean {
    const code = err instanceof AppError ? err.code : (err as { code?: string })?.code;
    const unreachable = code === ErrorCode.SERVICE_UNAVAILABLE;
    // Recovery conflicts are 40001 (after the transaction's retries, CONFLICT) or 57P04;
    // 25006: a write in a read-only transaction.
    const fallBack = unreachable || code === ErrorCode.CONFLICT || code === '40001' || code === '40P01' || code === '57P04' || code === '25006';
    if (!fallBack) return false;
    if (unreachable) this.update({ state: 'unavailable', lagMs: this.current.lagMs, lagBytes: this.current.lagBytes, error: err instanceof Error ? err.message : String(err) });
    this.observer.served('primary', 'replica_error');
    this.observer.failedOver(err);
    return true;
  }

  private check(): Promise<void> {
    this.checking ??= this.measure().finally(() => (this.checking = null));
    return this.checking;
  }

  /** The replica's state, and its lag measured against the primary's recent positions. */
  private async measure(): Promise<void> {
    const [primary, replica] = await Promise.allSettled([
      this.flushedTo(),
      // On the pg pool itself, so that a failure keeps its own message (refused, timed out…).
      this.replica.pool.query<{ recovery: boolean; lsn: string | null }>('select pg_is_in_recovery() as recovery, pg_last_wal_replay_lsn()::text as lsn').then((r) => r.rows),
    ]);
    const now = Date.now();
    if (primary.status === 'fulfilled') this.samples.push({ at: now, lsn: primary.value });
    const horizon = now - this.options.maxLagMs - 2 * this.options.checkIntervalMs;
    while (this.samples.length > 1 && this.samples[0]!.at < horizon) this.samples.shift();
    if (replica.status === 'rejected') {
      const err = replica.reason as Error;
      return this.update({ state: 'unavailable', lagMs: null, lagBytes: null, error: err.message });
    }
    const row = replica.value[0]!;
    if (!row.recovery || !row.lsn) return this.update({ state: 'unavailable', lagMs: null, lagBytes: null, error: 'not a standby in recovery' });
    const lsn = parseLsn(row.lsn);
    if (lsn > this.replayed) this.replayed = lsn;
    const latest = this.samples.at(-1);
    if (!latest) return this.update({ state: 'ok', lagMs: null, lagBytes: null });
    const lagBytes = latest.lsn > lsn ? Number(latest.lsn - lsn) : 0;
    // The oldest sample the replica has not reached: the primary was past the replica's position then.
    const ahead = this.samples.find((s) => s.lsn > lsn);
    const lagMs = ahead ? now - ahead.at : 0;
    this.update({ state: lagMs > this.options.maxLagMs ? 'lagging' : 'ok', lagMs, lagBytes });
  }

  private update(next: ReplicaHealth): void {
    const previous = this.current.state;
    this.current = next;
    this.observer.observed(this.health(), previous);
  }
}
