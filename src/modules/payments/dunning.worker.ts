import type { Logger } from '../../shared/logger.js';
import type { PaymentService } from './payment.service.js';

const BATCH = 200;

/**
 * Dunning on the service's clock: every intervalMs, each instance takes the invoices whose next
 * payment attempt is due and advances each one step (PaymentService.advance), which rechecks the
 * invoice under its row lock, so a step runs once however many instances see it due. Then it
 * asks the providers about payments left PENDING past the pending check window whose webhook has
 * not come (PaymentService.checkPending), so that a lost webhook does not leave an invoice
 * pending for ever; each is asked at most once a window while it stays pending.
 */
export class DunningWorker {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly payments: PaymentService,
    private readonly logger: Logger,
    private readonly intervalMs: number,
  ) {}

  start(): void {
    if (this.intervalMs <= 0) return;
    this.timer = setInterval(() => {
      this.running = this.runDue()
        .then(() => this.checkPending())
        .catch((err) => this.logger.error({ err }, 'dunning failed; the next run retries'));
    }, this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /**
   * Advances every live customer's invoice due now, or with a test clock its customers' invoices
   * due at its time; returns how many moved.
   */
  async runDue(testClock: { id: string; at: Date } | null = null): Promise<number> {
    let moved = 0;
    const seen = new Set<string>();
    for (;;) {
      const due = (await this.payments.due(BATCH, testClock)).filter((id) => !seen.has(id));
      for (const id of due) {
        seen.add(id);
        try {
          if (await this.payments.advance(id, testClock?.at)) moved++;
        } catch (err) {
          this.logger.error({ err, invoiceId: id }, 'a dunning step failed; the next run retries');
        }
      }
      if (due.length < BATCH) return moved;
    }
  }

  /** Asks the providers about every payment pending past the window; returns how many it settled. */
  async checkPending(): Promise<number> {
    let settled = 0;
    const seen = new Set<string>();
    for (;;) {
      const pending = (await this.payments.pendingToCheck(BATCH)).filter((p) => !seen.has(`${p.provider}:${p.reference}`));
      for (const p of pending) {
        seen.add(`${p.provider}:${p.reference}`);
        try {
          if (await this.payments.checkPending(p)) settled++;
        } catch (err) {
          this.logger.warn({ err, provider: p.provider, reference: p.reference }, 'asking the provider about a pending payment failed; the next run asks again');
        }
      }
      if (pending.length < BATCH) return settled;
    }
  }
}
