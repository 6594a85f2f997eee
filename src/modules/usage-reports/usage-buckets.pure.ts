import { ValidationError } from '../../shared/errors.js';
import { fromLocal, toLocal, utcMillis } from '../../shared/time-zones.js';

/** How long one bucket of a usage report is, in the customer's time zone. */
export const Granularity = { HOUR: 'HOUR', DAY: 'DAY', MONTH: 'MONTH' } as const;
export type Granularity = (typeof Granularity)[keyof typeof Granularity];

/** The most buckets one usage query may return (HOUR over 41 days, DAY over 2.7 years). */
export const MAX_BUCKETS = 1_000;

/** Rollup bins are 15 minutes of UTC time (see Migration20261122000700UsageRollups). */
export const BIN_MS = 15 * 60_000;

const HOUR_MS = 3_600_000;

/** The local hour holding `at`: the instant minus the minutes and seconds its wall clock shows. */
function startOfHour(at: Date, timeZone: string): Date {
  const l = toLocal(at, timeZone);
  return new Date(at.getTime() - (l.minute * 60 + l.second) * 1000 - (at.getTime() % 1000 + 1000) % 1000);
}

/**
 * Steps of an hour bucketStart takes back at most. One or two always do (a midnight the clocks
 * skipped); the bound keeps a wrong calendar answer from walking back through the centuries, as
 * a recursion here once did for the year 50 until the stack overflowed.
 */
const MAX_STEPS_BACK = 48;

/** The start of the bucket holding `at`. */
export function bucketStart(at: Date, granularity: Granularity, timeZone: string): Date {
  if (granularity === Granularity.HOUR) return startOfHour(at, timeZone);
  let probe = at;
  for (let step = 0; step < MAX_STEPS_BACK; step++) {
    const l = toLocal(probe, timeZone);
    const start = fromLocal(l.year, l.month, granularity === Granularity.DAY ? l.day : 1, timeZone);
    // A day whose midnight the clocks skipped starts later than midnight; `at` may precede it.
    if (start.getTime() <= probe.getTime()) return start;
    probe = new Date(probe.getTime() - HOUR_MS);
  }
  // Unreachable with a sound zone database; the hour holding `at` still starts a bucket <= at.
  return startOfHour(at, timeZone);
}

/** The start of the bucket after the one starting at `start`. */
export function nextBucketStart(start: Date, granularity: Granularity, timeZone: string): Date {
  if (granularity === Granularity.HOUR) {
    // Offsets change on whole local hours nearly everywhere; where a change is shorter than an
    // hour (Lord Howe: 30 minutes), the local hour is cut at the change.
    const next = startOfHour(new Date(start.getTime() + HOUR_MS), timeZone);
    return next.getTime() > start.getTime() ? next : new Date(start.getTime() + HOUR_MS);
  }
  const l = toLocal(start, timeZone);
  if (granularity === Granularity.DAY) {
    const d = new Date(utcMillis(l.year, l.month, l.day + 1));
    return fromLocal(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), timeZone);
  }
  return fromLocal(l.month === 12 ? l.year + 1 : l.year, l.month === 12 ? 1 : l.month + 1, 1, timeZone);
}

/**
 * The bucket boundaries covering [from, to): b0 <= from < b1 < … < bn >= to, so bucket i is
 * [b(i-1), b(i)). Throws VALIDATION_FAILED beyond MAX_BUCKETS buckets.
 */
export function bucketBounds(from: Date, to: Date, granularity: Granularity, timeZone: string): Date[] {
  const bounds = [bucketStart(from, granularity, timeZone)];
  while (bounds[bounds.length - 1]!.getTime() < to.getTime()) {
    if (bounds.length > MAX_BUCKETS) {
      throw new ValidationError([
        { path: 'to', message: `the range holds more than ${MAX_BUCKETS} ${granularity} buckets; narrow it or choose a coarser granularity` },
      ]);
    }
    bounds.push(nextBucketStart(bounds[bounds.length - 1]!, granularity, timeZone));
  }
  return bounds;
}

/**
 * Splits [from, to) into the whole rollup bins inside it, [lo, hi), and the edges before and
 * after, which are read from the events themselves. lo = hi = to when no whole bin fits.
 */
export function binSpan(from: Date, to: Date): { lo: Date; hi: Date } {
  const lo = Math.ceil(from.getTime() / BIN_MS) * BIN_MS;
  const hi = Math.floor(to.getTime() / BIN_MS) * BIN_MS;
  return lo < hi ? { lo: new Date(lo), hi: new Date(hi) } : { lo: to, hi: to };
}
