import { Decimal } from '../../shared/money/decimal.js';
import type { Priced } from './tiers.js';

export interface PercentagePricing {
  /** Percent, e.g. 2.9 for 2.9 %. */
  rate: Decimal;
  fixedFee: Decimal;
  freeEvents: number;
  minPerEvent: Decimal | null;
  maxPerEvent: Decimal | null;
}

const HUNDRED = new Decimal(100);

/**
 * A percentage of the amount an event carries plus a fixed fee, clamped to the per-event minimum
 * and maximum. The first `freeEvents` events of the period (eventIndex counts from 0) are free.
 */
export function percentageOfEvent(p: PercentagePricing, amount: Decimal, eventIndex: number): Priced {
  if (eventIndex < p.freeEvents) return { amount: new Decimal(0), parts: [] };
  let charge = amount.times(p.rate).div(HUNDRED).plus(p.fixedFee);
  if (p.minPerEvent && charge.lessThan(p.minPerEvent)) charge = p.minPerEvent;
  if (p.maxPerEvent && charge.greaterThan(p.maxPerEvent)) charge = p.maxPerEvent;
  return { amount: charge, parts: [] };
}

/**
 * A period's percentage charge from its totals: `events` events carrying `value` in all. The
 * first `freeEvents` are free, rate and fee alike. Which part of the value they carried is not
 * known from totals: with free events among more events, the value is taken as spread evenly
 * (`estimated`); with none, or all events free, the amount is exact.
 */
export function percentageTotal(p: PercentagePricing, value: Decimal, events: number): Priced & { estimated: boolean } {
  const paying = Math.max(0, events - p.freeEvents);
  if (paying === 0) return { amount: new Decimal(0), parts: [], estimated: false };
  const estimated = p.freeEvents > 0;
  const payingValue = estimated ? value.times(paying).div(events) : value;
  return { amount: payingValue.times(p.rate).div(HUNDRED).plus(p.fixedFee.times(paying)), parts: [], estimated };
}
