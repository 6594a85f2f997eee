import type { SqlPool } from '../../db/sql.js';
import type { Clock } from '../../shared/clock.js';
import { AppError, ErrorCode } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import type { Customer } from '../customers/index.js';
import type { AppendResult } from '../wallets/index.js';
import { AccountRepository } from './account.repository.js';
import { randomUUID } from 'node:crypto';
import { StateNotLoaded, type Allocation, type ReservationStore, type SyncChange } from './reservation.store.js';

/** Counters of a period stay in the store this long after the period starts (longer than any period). */
const PERIOD_RETENTION_MS = 400 * 86_400_000;
/** Loads refused as stale in a row before the caller is told to retry. */
const MAX_LOAD_ATTEMPTS = 10;

/**
 * Keeps the reservation store a faithful cache of PostgreSQL: loads a customer's state and
 * period counters from snapshots when the store asks, and tells it about committed money moves
 * and setting changes. A sync that fails (store unreachable) is retried in the background.
 */
export class AccountStateService {
  readonly accounts: AccountRepository;
  private readonly retries: Array<{ customerId: string; change: SyncChange; attempts: number }> = [];
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: ReservationStore,
    sql: SqlPool,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {
    this.accounts = new AccountRepository(sql);
  }

  /**
   * Loads the customer's state from PostgreSQL unless the store has it. The snapshot is read
   * after beginLoad, and the store refuses it as STALE when anything it may miss happened in
   * between (a flush, a commit the store had to skip); then it is read again.
   */
  async ensureLoaded(customerId: string): Promise<void> {
    for (let attempt = 1; attempt <= MAX_LOAD_ATTEMPTS; attempt++) {
      const token = await this.store.beginLoad(customerId, null, randomUUID());
      if (token === null) return;
      const snapshot = await this.accounts.snapshot(customerId, this.clock.now());
      if ((await this.store.load(customerId, { ...snapshot, generation: randomUUID(), token })) !== 'STALE') return;
      this.logger.info({ customerId, attempt }, 'a snapshot went stale while loading the reservation store; reading it again');
    }
    throw new AppError(ErrorCode.CONFLICT, 'the reservation store could not be rebuilt against concurrent changes; retry');
  }

  async ensurePeriods(customerId: string, periodKeys: string[]): Promise<void> {
    for (const key of periodKeys) {
      for (let attempt = 1; ; attempt++) {
        const token = await this.store.beginLoad(customerId, key, randomUUID());
        if (token === null) {
          // Loaded meanwhile, or the customer's state is gone: the next reserve says which.
          break;
        }
        const start = new Date(key);
        const snapshot = await this.accounts.periodSnapshot(customerId, start, start.getTime() + PERIOD_RETENTION_MS);
        let outcome;
        try {
          outcome = await this.store.loadPeriod(customerId, { ...snapshot, token });
        } catch (err) {
          if (!(err instanceof StateNotLoaded)) throw err;
          await this.ensureLoaded(customerId);
          continue;
        }
        if (outcome !== 'STALE') break;
        if (attempt >= MAX_LOAD_ATTEMPTS) throw new AppError(ErrorCode.CONFLICT, 'the reservation store could not be rebuilt against concurrent changes; retry');
      }
    }
  }

  /** The store's state disagrees with PostgreSQL: forget it, so that the next use loads it afresh. */
  async distrust(customerId: string): Promise<void> {
    await this.store.drop(customerId).catch((err) => this.logger.warn({ customerId, err: (err as Error).message }, 'could not drop the store state'));
  }

  /** After a committed ledger append outside usage (top-up, grant, adjustment, expiry). */
  async ledgerCommitted(result: AppendResult): Promise<void> {
    const byCustomer = new Map<string, { walletIds: Set<string>; deltas: Map<string, bigint> }>();
    for (const e of result.entries) {
      const customerId = result.wallets.get(e.walletId)!.customerId;
      const c = byCustomer.get(customerId) ?? { walletIds: new Set(), deltas: new Map() };
      c.walletIds.add(e.walletId);
      c.deltas.set(e.creditBlockId, (c.deltas.get(e.creditBlockId) ?? 0n) + e.amount);
      byCustomer.set(customerId, c);
    }
    for (const [customerId, c] of byCustomer) {
      const deltas: Allocation[] = [...c.deltas].map(([blockId, amount]) => ({ blockId, amount }));
      await this.walletsChanged(customerId, [...c.walletIds], result.customerVersions.get(customerId) ?? null, deltas);
    }
  }

  /** After wallets were created or their settings or blocks changed (deltas with their commit's version). */
  async walletsChanged(customerId: string, walletIds: string[], version: bigint | null, deltas: Allocation[] = []): Promise<void> {
    const states = await this.accounts.walletStatesOf(walletIds, this.clock.now());
    await this.sync(customerId, { version, wallets: states.wallets, blocks: states.blocks, deltas, caps: {} });
  }

  /**
   * Held amounts per wallet: from the store when it has the customer (every hold, in-flight ones
   * included), else from PostgreSQL's open reservations.
   */
  async heldByWallet(customerId: string): Promise<Map<string, bigint>> {
    const held = new Map<string, bigint>();
    const view = await this.store.inspect(customerId, null).catch(() => undefined);
    if (view?.loaded) {
      for (const hold of view.holds.values()) {
        if (hold.w) held.set(hold.w, (held.get(hold.w) ?? 0n) + hold.a.reduce((s, [, amt]) => s + BigInt(amt), 0n));
      }
      return held;
    }
    return this.accounts.openHoldsByWallet(customerId);
  }

  async spendingCapChanged(customer: Customer): Promise<void> {
    await this.sync(customer.id, { version: null, wallets: [], blocks: [], deltas: [], caps: { [customer.currency]: customer.spendingCap } });
  }

  private async sync(customerId: string, change: SyncChange): Promise<void> {
    try {
      await this.store.sync(customerId, change);
    } catch (err) {
      this.logger.warn({ customerId, err: (err as Error).message }, 'could not update the reservation store; retrying');
      this.retries.push({ customerId, change, attempts: 0 });
      this.scheduleRetry();
    }
  }

  private scheduleRetry(): void {
    if (this.retryTimer) return;
    this.retryTimer = setTimeout(async () => {
      this.retryTimer = undefined;
      const due = this.retries.splice(0);
      for (const r of due) {
        try {
          await this.store.sync(r.customerId, r.change);
        } catch {
          // After many failures, forget the customer's cached state instead: the next use reloads it.
          if (++r.attempts < 30) this.retries.push(r);
          else await this.store.drop(r.customerId).catch(() => this.retries.push(r));
        }
      }
      if (this.retries.length) this.scheduleRetry();
    }, 1_000);
    this.retryTimer.unref();
  }

  stop(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
  }
}
