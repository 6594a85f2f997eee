import type { Logger } from '../../shared/logger.js';
import type { RechargeService } from './recharge.service.js';

const BATCH = 100;

/**
 * Charges the recharges that crossings asked for, every pollMs on each instance. Each one is
 * charged under its row's lock (skipped while another instance holds it), so however many
 * instances run, a recharge is charged once.
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
      this.running = this.running.then(() => this.runDue()).catch((err) => this.logger.error({ err }, 'charging auto-recharges failed; the next run retries'));
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
}
