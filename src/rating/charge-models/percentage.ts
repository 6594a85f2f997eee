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
  minPerEvent?: string;
  maxPerEvent?: string;
};

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

export const percentageModel: ChargeModel<PercentageParams> = {
  compile(params) {
    const pricing: PercentagePricing = {
      rate: new Decimal(params.rate),
      fixedFee: dec(params.fixedFee),
      freeEvents: params.freeEvents ?? 0,
      minPerEvent: params.minPerEvent === undefined ? null : new Decimal(params.minPerEvent),
      maxPerEvent: params.maxPerEvent === undefined ? null : new Decimal(params.maxPerEvent),
    };
    const clamped = pricing.minPerEvent !== null || pricing.maxPerEvent !== null;
    return {
      kind: 'per-event',
      model: params.model,
      of: params.of,
      countsEvents: pricing.freeEvents > 0,
      price: (value, eventsBefore) => percentageOfEvent(pricing, value, eventsBefore),
      eventsPiece: (n) => (pricing.freeEvents === 0 ? null : n < pricing.freeEvents ? { from: 0, to: pricing.freeEvents - 1 } : { from: pricing.freeEvents, to: null }),
      total: (value, events) => (clamped ? null : percentageTotal(pricing, value, events)),
    };
  },
  figures(params, out) {
    out.figure(params.rate);
    for (const x of [params.fixedFee, params.minPerEvent, params.maxPerEvent]) if (x !== undefined) out.figure(x);
    if (params.freeEvents !== undefined) out.figure(params.freeEvents);
  },
  check: (params) =>
    params.minPerEvent && params.maxPerEvent && new Decimal(params.minPerEvent).greaterThan(params.maxPerEvent) ? [['maxPerEvent', 'must not be less than minPerEvent']] : [],
};
