import type { Logger } from '../../shared/logger.js';
import type { RechargeService } from './recharge.service.js';

const BATCH = 100;

/**
 * Charges the recharges that crossings asked for, every pollMs on each instance. Each one is
 * charged under its row's lock (skipped while another instance holds it), so however many
 * instances run, a recharge is charged once. Then it asks the providers about charges left
 * pending past the pending check window whose webhook has not come (RechargeService.checkPending).
 */
export class RechargeWorker {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly recharges: RechargeService,
    private readonly logger: Logger,
    private readonly pollMs: number,
  ) {}

  start(): void {
    if (this.pollMs <= 0) return;
    this.timer = setInterval(() => {
      this.running = this.running
        .then(() => this.runDue())
        .then(() => this.checkPending())
        .catch((err) => this.logger.error({ err }, 'charging auto-recharges failed; the next run retries'));
    }, this.pollMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running.catch(() => undefined);
  }

  /** Charges every recharge waiting now; returns how many it settled or left pending. */
  async runDue(): Promise<number> {
    let charged = 0;
    const seen = new Set<string>();
    for (;;) {
      const due = (await this.recharges.due(BATCH)).filter((id) => !seen.has(id));
      for (const id of due) {
        seen.add(id);
        try {
          if (await this.recharges.charge(id)) charged++;
        } catch (err) {
          this.logger.error({ err, rechargeId: id }, 'an auto-recharge could not be charged; the next run retries');
        }
      }
      if (due.length < BATCH) return charged;
    }
  }

  /** Asks the providers about every charge pending past the window; returns how many it settled. */
  async checkPending(): Promise<number> {
    let settled = 0;
    const seen = new Set<string>();
    for (;;) {
      const pending = (await this.recharges.pendingToCheck(BATCH)).filter((p) => !seen.has(`${p.provider}:${p.reference}`));
      for (const p of pending) {
        seen.add(`${p.provider}:${p.reference}`);
        try {
          if (await this.recharges.checkPending(p)) settled++;
        } catch (err) {
          this.logger.warn({ err, provider: p.provider, reference: p.reference }, 'asking the provider about a pending auto-recharge failed; the next run asks again');
        }
      }
      if (pending.length < BATCH) return settled;
    }
  }
}
