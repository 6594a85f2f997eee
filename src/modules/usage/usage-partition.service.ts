import type { PartitionConfig } from '../../config/config.js';
import type { Clock } from '../../shared/clock.js';
import { partitionWindow, retentionCutoff } from './usage-partition.pure.js';
import type { PartitionRow, PruneRow, UsagePartitionRepository } from './usage-partition.repository.js';

/** What one retention pass looked at: the cutoff, and each partition's fate. */
export interface PruneReport {
  /** Months ending at or before this instant could go. */
  before: Date;
  retentionMonths: number;
  partitions: PruneRow[];
}

/**
 * usage_event's monthly partitions: created ahead of the events (from the oldest timestamp the
 * service accepts to `aheadMonths` ahead), listed, and dropped by retention once older than
 * `retentionMonths` and invoiced and final.
 */
export class UsagePartitionService {
  constructor(
    private readonly repo: UsagePartitionRepository,
    private readonly clock: Clock,
    private readonly config: PartitionConfig & { maxAgeMs: number },
  ) {}

  /** Creates the missing partitions of the window at this instant; returns their names. */
  ensure(aheadMonths = this.config.aheadMonths): Promise<string[]> {
    const { from, to } = partitionWindow(this.clock.now(), this.config.maxAgeMs, aheadMonths);
    return this.repo.ensure(from, to);
  }

  list(): Promise<PartitionRow[]> {
    return this.repo.list();
  }

  /** Applies retention (the configured months unless given); null when retention is off. */
  async prune(options: { dryRun: boolean; retentionMonths?: number }): Promise<PruneReport | null> {
    const months = options.retentionMonths ?? this.config.retentionMonths;
    if (months === null) return null;
    const before = retentionCutoff(this.clock.now(), months, this.config.maxAgeMs);
    return { before, retentionMonths: months, partitions: await this.repo.prune(before, options.dryRun) };
  }
}
