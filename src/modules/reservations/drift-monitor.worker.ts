import type { Logger } from '../../shared/logger.js';
import type { Metrics } from '../../shared/metrics.js';
import type { AccountRepository } from './account.repository.js';
import type { Reconciler } from './reconcile.service.js';

/**
 * Notices drift between the reservation store and PostgreSQL without an operator: every round
 * it compares a sample of customers (those active since the last round first, then others in
 * turn), counts each difference in billing_store_drift_total, logs it, and, when configured,
 * drops the customer's store state so that its next event rebuilds it from PostgreSQL.
 */
export class DriftMonitor {
  private readonly active = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  /** Where the turn through all customers with state stands. */
  private cursor = 0;

  constructor(
    private readonly reconciler: Reconciler,
    private readonly accounts: AccountRepository,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    private readonly options: { intervalMs: number; sample: number; repair: boolean },
  ) {}

  /** A customer whose state changed: checked first in the next round. */
  touched(customerId: string): void {
    if (this.active.size < 100_000) this.active.add(customerId);
  }

  start(): void {
    if (this.options.intervalMs <= 0) return;
    this.timer = setInterval(() => {
      this.running ??= this.round()
        .catch((err) => this.logger.warn({ err: (err as Error).message }, 'the store drift check failed; next round retries'))
        .finally(() => (this.running = undefined));
    }, this.options.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One round; returns the differences it found. */
  async round(): Promise<number> {
    const sample = [...this.active].slice(0, this.options.sample);
    for (const id of sample) this.active.delete(id);
    if (sample.length < this.options.sample) {
      const all = await this.accounts.customersWithState();
      for (let i = 0; i < all.length && sample.length < this.options.sample; i++) {
        const id = all[(this.cursor + i) % all.length]!;
        if (!sample.includes(id)) sample.push(id);
      }
      this.cursor = all.length === 0 ? 0 : (this.cursor + this.options.sample) % all.length;
    }
    let found = 0;
    for (const customerId of sample) {
      const drifts = await this.reconciler.check(customerId);
      if (drifts === null) continue;
      this.metrics.storeChecked.inc();
      if (drifts.length === 0) continue;
      found += drifts.length;
      this.metrics.storeDrift.inc(drifts.length);
      for (const d of drifts) this.logger.warn({ customerId, what: d.what, postgres: d.postgres, store: d.store }, 'reservation store drifts from PostgreSQL');
      if (this.options.repair) {
        await this.reconciler.repair(customerId);
        this.logger.warn({ customerId }, 'dropped the drifting store state; it is rebuilt from PostgreSQL on next use');
      }
    }
    return found;
  }
}
