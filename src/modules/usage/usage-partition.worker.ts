import type { Logger } from '../../shared/logger.js';
import type { UsagePartitionService } from './usage-partition.service.js';

/**
 * Keeps usage_event's partitions on schedule: at start, then every `intervalMs` (daily by
 * default), creates the months ahead and, when retention is on, drops the old months that are
 * invoiced and final. Every instance runs it; the SQL functions take one advisory lock, so
 * instances take turns and the later ones find nothing left to do. A failed round (a lock not
 * granted in time, say) is logged and the next one retries: the months ahead leave time, and
 * events of a month without a partition land in the default one meanwhile.
 */
export class UsagePartitionWorker {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;

  constructor(
    private readonly partitions: UsagePartitionService,
    private readonly logger: Logger,
    private readonly intervalMs: number,
  ) {}

  /** Runs a first round (awaited; a failure is logged, not thrown), then schedules the others. */
  async start(): Promise<void> {
    await this.tick();
    if (this.intervalMs <= 0) return;
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  private tick(): Promise<unknown> {
    this.running ??= this.round()
      .catch((err) => this.logger.warn({ err: (err as Error).message }, 'keeping usage partitions failed; the next round retries'))
      .finally(() => (this.running = undefined));
    return this.running;
  }

  /** One round: partitions ahead, then retention. */
  async round(): Promise<void> {
    const created = await this.partitions.ensure();
    if (created.length > 0) this.logger.info({ created }, 'created usage partitions');
    const pruned = await this.partitions.prune({ dryRun: false });
    if (!pruned) return;
    const dropped = pruned.partitions.filter((p) => p.action === 'DROPPED');
    if (dropped.length > 0) this.logger.info({ dropped: dropped.map((p) => ({ partition: p.name, events: p.events })) }, 'retention dropped usage partitions');
    // Old months kept for want of a final invoice are worth a look; months still within retention are not.
    const held = pruned.partitions.filter((p) => p.action === 'KEPT' && p.events !== null);
    if (held.length > 0) this.logger.warn({ kept: held.map((p) => ({ partition: p.name, reason: p.reason })) }, 'retention kept usage partitions past the retention period');
  }
}
