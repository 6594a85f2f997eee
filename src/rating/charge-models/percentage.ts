import { Decimal } from '../../shared/money/decimal.js';
import type { ChargeCommon } from '../types.js';
import { dec, type ChargeModel } from './charge-model.js';
import type { Priced } from './tiers.js';

export type PercentageParams = ChargeCommon & {
  model: 'percentage';
  of: string;
  rate: string;
  fixedFee?: string;
  freeEvents?: number;
  /** The period's first freeAmount of the value `of` is free; events wholly inside it skip the fixed fee too. */
  freeAmount?: string;
  minPerEvent?: string;
  maxPerEvent?: string;
};

export interface PercentagePricing {
  /** Percent, e.g. 2.9 for 2.9 %. */
  rate: Decimal;
  fixedFee: Decimal;
  freeEvents: number;
  /** Free value per period (absent or zero: none). */
  freeAmount?: Decimal;
  minPerEvent: Decimal | null;
  maxPerEvent: Decimal | null;
}

const HUNDRED = new Decimal(100);
const ZERO = new Decimal(0);

/**
 * A period's charge with a free amount: the rate on the value above it (exact), and the fixed fee
 * of each event that reaches past it. Which events do is not known from totals: with a fixed fee
 * and more than one event, the value is taken as spread evenly over the events (`estimated`).
 */
function freeAmountTotal(p: PercentagePricing, freeAmount: Decimal, value: Decimal, events: number): Priced & { estimated: boolean } {
  if (events === 0 || value.lessThanOrEqualTo(freeAmount)) return { amount: ZERO, parts: [], estimated: false };
  const rated = value.minus(freeAmount).times(p.rate).div(HUNDRED);
  if (p.fixedFee.isZero()) return { amount: rated, parts: [], estimated: false };
  // Evenly spread, the events wholly inside the free amount are floor(freeAmount / (value / events)).
  const free = freeAmount.times(events).div(value).floor().toNumber();
  return { amount: rated.plus(p.fixedFee.times(events - free)), parts: [], estimated: events > 1 };
}

/** Running totals before an event of `value` over which its price does not change. */
function freeAmountPiece(freeAmount: Decimal, before: Decimal, value: Decimal): { from: Decimal; to: Decimal | null } {
  if (before.plus(value).lessThanOrEqualTo(freeAmount)) return { from: ZERO, to: freeAmount.minus(value) };
  if (before.greaterThanOrEqualTo(freeAmount)) return { from: freeAmount, to: null };
  return { from: before, to: before };
}

/**
 * A percentage of the amount an event carries plus a fixed fee, clamped to the per-event minimum
 * and maximum. The first `freeEvents` events of the period (eventIndex counts from 0) are free.
 * With a free amount, `valueBefore` is the period's running total before the event: an event
 * wholly inside the free amount is free (fixed fee included); one that crosses it pays the rate
 * on its part above it, and the fixed fee.
 */
export function percentageOfEvent(p: PercentagePricing, amount: Decimal, eventIndex: number, valueBefore: Decimal = ZERO): Priced {
  if (eventIndex < p.freeEvents) return { amount: ZERO, parts: [] };
  let rated = amount;
  if (p.freeAmount && !p.freeAmount.isZero()) {
    const after = valueBefore.plus(amount);
    if (after.lessThanOrEqualTo(p.freeAmount)) return { amount: ZERO, parts: [] };
    rated = Decimal.min(amount, after.minus(p.freeAmount));
  }
  let charge = rated.times(p.rate).div(HUNDRED).plus(p.fixedFee);
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
  if (p.freeAmount && !p.freeAmount.isZero()) return freeAmountTotal(p, p.freeAmount, value, events);
  const paying = Math.max(0, events - p.freeEvents);
  if (paying === 0) return { amount: new Decimal(0), parts: [], estimated: false };
  const estimated = p.freeEvents > 0;
  const payingValue = estimated ? value.times(paying).div(events) : value;
  return { amount: payingValue.times(p.rate).div(HUNDRED).plus(p.fixedFee.times(paying)), parts: [], estimated };
}

export const percentageModel: ChargeModel<PercentageParams> = {
  compile(params) {
    const pricing: PercentagePricing = {
      rate: new Decimal(params.rate),
      fixedFee: dec(params.fixedFee),
      freeEvents: params.freeEvents ?? 0,
      freeAmount: dec(params.freeAmount),
      minPerEvent: params.minPerEvent === undefined ? null : new Decimal(params.minPerEvent),
      maxPerEvent: params.maxPerEvent === undefined ? null : new Decimal(params.maxPerEvent),
    };
    const clamped = pricing.minPerEvent !== null || pricing.maxPerEvent !== null;
    return {
      kind: 'per-event',
      model: params.model,
      of: params.of,
      countsEvents: pricing.freeEvents > 0,
      countsValue: !pricing.freeAmount!.isZero(),
      price: (value, eventsBefore, valueBefore) => percentageOfEvent(pricing, value, eventsBefore, valueBefore),
      valuePiece: (before, value) => freeAmountPiece(pricing.freeAmount!, before, value),
      eventsPiece: (n) => (pricing.freeEvents === 0 ? null : n < pricing.freeEvents ? { from: 0, to: pricing.freeEvents - 1 } : { from: pricing.freeEvents, to: null }),
      total: (value, events) => (clamped ? null : percentageTotal(pricing, value, events)),
    };
  },
  figures(params, out) {
    out.figure(params.rate);
    for (const x of [params.fixedFee, params.freeAmount, params.minPerEvent, params.maxPerEvent]) if (x !== undefined) out.figure(x);
    if (params.freeEvents !== undefined) out.figure(params.freeEvents);
  },
  check(params) {
    const problems: Array<[string, string]> = [];
    if (params.minPerEvent && params.maxPerEvent && new Decimal(params.minPerEvent).greaterThan(params.maxPerEvent)) problems.push(['maxPerEvent', 'must not be less than minPerEvent']);
    if (params.freeAmount !== undefined && params.freeEvents !== undefined) problems.push(['freeAmount', 'cannot be combined with freeEvents: give a charge one or the other']);
    return problems;
  },
};
