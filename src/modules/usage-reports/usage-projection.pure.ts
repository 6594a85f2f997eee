import { Decimal, RoundingMode } from '../../shared/money/decimal.js';
import { LEDGER_SCALE } from '../../shared/money/units.js';
import type { Period } from '../subscriptions/index.js';

/** The shortest stretch of time a spend rate is measured over: a day, or a tenth of a shorter period. */
export const MIN_RATE_WINDOW_MS = 86_400_000;

/**
 * Projected spend at the end of the period: linear extrapolation of the spend so far. Time is
 * counted from `billedFrom` when billing began inside the period (a subscription that started on
 * the 10th of a calendar month spends over 21 days, not 31).
 *
 *   rate      = spent / max(elapsed, window)   window = min(1 day, period length / 10)
 *   projected = spent + rate × remaining
 *
 * Once a day (or a tenth of a short period) has passed this is spent × length / elapsed. Before
 * that, the spend so far is spread over the whole window rather than over the few minutes that
 * passed, so a burst at the start of a period does not project to an absurd figure. At or after
 * the end, the projection is what was spent. Rounded to ledger units (1e-9), half up.
 */
export function projectSpend(spent: Decimal, period: Period, at: Date, billedFrom: Date | null = null): Decimal {
  const start = Math.min(Math.max(period.start.getTime(), billedFrom?.getTime() ?? 0), period.end.getTime());
  const length = period.end.getTime() - start;
  const elapsed = Math.min(Math.max(at.getTime() - start, 0), length);
  const remaining = length - elapsed;
  if (remaining <= 0 || spent.isZero()) return spent;
  const window = Math.max(elapsed, Math.min(MIN_RATE_WINDOW_MS, length / 10));
  return spent.plus(spent.times(remaining).div(window)).toDecimalPlaces(LEDGER_SCALE, RoundingMode.HALF_UP);
}

/** The share of the period that has passed at `at`, from 0 to 1, to four decimals. */
export function elapsedShare(period: Period, at: Date): Decimal {
  const length = period.end.getTime() - period.start.getTime();
  const elapsed = Math.min(Math.max(at.getTime() - period.start.getTime(), 0), length);
  return new Decimal(elapsed).div(length).toDecimalPlaces(4, RoundingMode.DOWN);
}
