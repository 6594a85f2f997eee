import type { Clock } from '../../shared/clock.js';
import type { Logger } from '../../shared/logger.js';
import type { UsageRepository } from '../usage/index.js';
import type { AccountRepository } from './account.repository.js';
import type { HoldRecord, PostItem, ReservationStore } from './reservation.store.js';
import { ReservationStatus } from './reservation.record.js';
import type { ReservationRepository } from './reservation.repository.js';

export interface SweepResult {
  posted: number;
  released: number;
  expired: number;
}

/** What posting a hold from its own record looks like (the request that made it is gone). */
function postFromHold(id: string, hold: HoldRecord, ref: string): PostItem {
  return {
    holdId: id,
    idempotencyKey: hold.k,
    requestHash: hold.hs,
    ref,
    keep: false,
    hold: null,
    allocations: hold.a.map(([blockId, amount]) => ({ blockId, amount: BigInt(amount) })),
    periodKey: hold.per,
    counters: hold.c.map(([k, d]) => [k, BigInt(d)]),
    meterQuantity: hold.mq && [hold.mq[0], BigInt(hold.mq[1])],
    currency: hold.cur,
    amount: BigInt(hold.amt),
    postpaid: hold.postpaid,
    walletId: hold.w || null,
  };
}

/**
 * Resolves holds nobody will resolve: a usage hold whose request died is posted if its event
 * was committed and released if not; an expired reservation is marked EXPIRED and released.
 * Safe to run on every instance at once: posting and releasing are idempotent.
 */
export class HoldSweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<SweepResult> | undefined;
  private readonly expiredListeners: Array<(customerId: string, walletId: string | null) => void> = [];

  constructor(
    private readonly store: ReservationStore,
    private readonly accounts: AccountRepository,
    private readonly usage: UsageRepository,
    private readonly reservations: ReservationRepository,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  /** Told when the sweep expires a reservation and gives its hold back. */
  onExpired(listener: (customerId: string, walletId: string | null) => void): void {
    this.expiredListeners.push(listener);
  }

  start(intervalMs: number): void {
    if (intervalMs <= 0) return;
    this.timer = setInterval(() => {
      void this.sweep().catch((err) => this.logger.warn({ err: (err as Error).message }, 'hold sweep failed; next round retries'));
    }, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** One pass; concurrent calls share it. */
  sweep(): Promise<SweepResult> {
    this.running ??= this.pass().finally(() => (this.running = undefined));
    return this.running;
  }

  private async pass(): Promise<SweepResult> {
    const now = this.clock.now();
    const result: SweepResult = { posted: 0, released: 0, expired: 0 };
    for (const r of await this.reservations.expired(now, 1_000)) {
      const closed = await this.reservations.close(r.id, ReservationStatus.EXPIRED, now);
      if (closed?.status === ReservationStatus.EXPIRED) {
        result.expired++;
        result.released += await this.store.release(r.customerId, [r.id], false);
        for (const listener of this.expiredListeners) listener(r.customerId, r.walletId);
      }
    }
    for (const customerId of await this.store.holders()) {
      const view = await this.store.inspect(customerId, now.getTime());
      for (const id of view.expired) {
        const hold = view.holds.get(id);
        if (!hold) continue;
        if (hold.t === 'u') {
          const event = await this.usage.findByKey(customerId, hold.k);
          if (event) {
            const version = (await this.accounts.snapshotVersion(customerId)) ?? 0n;
            result.posted += (await this.store.post(customerId, version, [postFromHold(id, hold, event.id)], now.getTime())).found;
          } else {
            result.released += await this.store.release(customerId, [id], true);
          }
        } else {
          const reservation = await this.reservations.findById(id);
          if (reservation?.status === ReservationStatus.OPEN) {
            await this.reservations.close(id, ReservationStatus.EXPIRED, now);
            result.expired++;
          }
          result.released += await this.store.release(customerId, [id], false);
          for (const listener of this.expiredListeners) listener(customerId, hold.w || null);
        }
      }
      if (view.holds.size === view.expired.length) await this.store.forgetHolder(customerId);
    }
    if (result.posted || result.released || result.expired) this.logger.info(result, 'swept holds');
    return result;
  }
}
