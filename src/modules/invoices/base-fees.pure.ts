import { Decimal, RoundingMode } from '../../shared/money/decimal.js';
import { toLocal, utcMillis } from '../../shared/time-zones.js';
import type { Period } from '../subscriptions/index.js';
import { LineKind, type BillingItem } from './invoice.record.js';

export type Proration = 'DAY' | 'SECOND';

/** Decimals a prorated share is shown with as a line's quantity. */
const SHARE_DECIMALS = 6;

/** A subscription's stretch inside one billing period. */
export interface FeeSegment {
  subscriptionId: string;
  planName: string;
  planCode: string;
  planVersion: number;
  baseFee: Decimal;
  timing: 'ADVANCE' | 'ARREARS';
  /** Where the subscription is in force within the period (clipped to it). */
  start: Date;
  end: Date;
  trialEndsAt: Date | null;
}

/** Local calendar day number of an instant (days since 1970-01-01 on the zone's wall clock). */
function localDay(at: Date, timeZone: string): number {
  const l = toLocal(at, timeZone);
  return utcMillis(l.year, l.month, l.day) / 86_400_000;
}

/**
 * The share of a period that [from, to) covers. DAY: whole days in the customer's time zone, the
 * day of a change counting for the plan that starts on it; SECOND: exact elapsed time. Both give
 * 1 for the whole period and add up to 1 over stretches that tile it.
 */
export function periodShare(period: Period, from: Date, to: Date, mode: Proration, timeZone: string): { share: Decimal; used: number; of: number } {
  if (mode === 'SECOND') {
    const used = Math.max(0, to.getTime() - from.getTime());
    const of = period.end.getTime() - period.start.getTime();
    return { share: new Decimal(used).div(of), used: Math.round(used / 1000), of: Math.round(of / 1000) };
  }
  const of = localDay(period.end, timeZone) - localDay(period.start, timeZone);
  const used = Math.max(0, localDay(to, timeZone) - localDay(from, timeZone));
  return { share: of === 0 ? new Decimal(0) : new Decimal(used).div(of), used, of };
}

const dateText = (d: Date, timeZone: string): string => {
  const l = toLocal(d, timeZone);
  return `${l.year}-${String(l.month).padStart(2, '0')}-${String(l.day).padStart(2, '0')}`;
};

/**
 * The base-fee items of one period: each segment's fee times the share of the period it covers,
 * less any trial (a trial waives the base fee, not usage).
 */
export function baseFeeItems(period: Period, segments: FeeSegment[], mode: Proration, timeZone: string): BillingItem[] {
  return segments.map((s) => {
    const from = s.trialEndsAt && s.trialEndsAt.getTime() > s.start.getTime() ? new Date(Math.min(s.trialEndsAt.getTime(), s.end.getTime())) : s.start;
    const { share, used, of } = periodShare(period, from, s.end, mode, timeZone);
    const whole = from.getTime() === period.start.getTime() && s.end.getTime() === period.end.getTime();
    const unit = mode === 'DAY' ? 'days' : 'seconds';
    const span = `${dateText(from, timeZone)} to ${dateText(s.end, timeZone)}`;
    const trial = from.getTime() !== s.start.getTime() ? ', after the trial' : '';
    return {
      kind: LineKind.BASE_FEE,
      key: `fee:${s.subscriptionId}`,
      periodStart: period.start,
      periodEnd: period.end,
      description: `${s.planName} base fee, ${span}${whole ? '' : ` (${used} of ${of} ${unit}${trial})`}${s.timing === 'ADVANCE' ? ', in advance' : ''}`,
      meterCode: null,
      dimensions: null,
      // The share as a quantity a reader can take in (at most six decimals, half up); the amount
      // uses the exact share, and the details keep it as the fraction it is.
      quantity: share.toDecimalPlaces(SHARE_DECIMALS, RoundingMode.HALF_UP),
      amount: s.baseFee.times(share),
      taxable: true,
      tiers: [],
      adjustments: [],
      details: { plan: { code: s.planCode, version: s.planVersion }, baseFee: s.baseFee.toFixed(), share: whole ? '1' : `${used}/${of}`, from: from.toISOString(), to: s.end.toISOString(), proration: mode },
    };
  });
}
