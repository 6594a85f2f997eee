/*
 * The dates of usage_event's monthly partitions (UTC calendar months; see
 * Migration20261201000800UsageEventPartitions): which months need one, and before when whole
 * months may be dropped.
 */

/** The first instant of the UTC month `months` after the one holding `at` (negative: before). */
export function monthStart(at: Date, months = 0): Date {
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + months, 1));
}

/**
 * The time range whose months must have a partition at `now`: from the oldest timestamp the
 * service accepts (now − maxAgeMs) to the end of the month `aheadMonths` after the current one.
 */
export function partitionWindow(now: Date, maxAgeMs: number, aheadMonths: number): { from: Date; to: Date } {
  return { from: new Date(now.getTime() - maxAgeMs), to: monthStart(now, aheadMonths + 1) };
}

/**
 * The instant at or before which a month must end to be dropped: the start of the month
 * `retentionMonths` before the current one, or, when that is later, the oldest timestamp the
 * service still accepts, so that no event can arrive for a month already dropped.
 */
export function retentionCutoff(now: Date, retentionMonths: number, maxAgeMs: number): Date {
  return new Date(Math.min(monthStart(now, -retentionMonths).getTime(), now.getTime() - maxAgeMs));
}
