import { Decimal } from '../../shared/money/decimal.js';
import type { ChargeParams, ChargeModelName } from '../types.js';
import { costPlus } from './cost-plus.js';
import { packageBounds, packageRange, packageTotal, type PackagePricing } from './package.js';
import { percentageOfEvent, percentageTotal, type PercentagePricing } from './percentage.js';
import { perUnitRange } from './per-unit.js';
import { buildTiers, graduatedRange, graduatedTotal, priceUnits, tierHolding, tierIndexAt, type Priced, type Tier } from './tiers.js';
import { volumeProvisional, volumeTotal } from './volume.js';

/** One counter unit: the finest step a period counter moves by (1e-9). */
export const COUNTER_EPSILON = new Decimal('1e-9');
const ZERO = new Decimal(0);
const HUNDRED = new Decimal(100);

/**
 * Where a per-event result stays the same: for any billable counter start in [from, to] the
 * event gets the same lines; within it the amount grows by `slope` per unit of the event.
 */
export interface Piece {
  from: Decimal;
  to: Decimal | null;
  slope: Decimal;
  /** slope in ledger units when whole, so integer quantities price with bigint arithmetic. */
  slopeUnits: bigint | null;
  /** The 1-based tier the whole range lies in, for the line's breakdown; null without tiers. */
  tier: number | null;
}

/** A charge priced from a period counter: the event moves the counter from a to b. */
export interface CumulativeCharge {
  kind: 'cumulative';
  model: ChargeModelName;
  measure: 'quantity' | 'value';
  /** The value name for value-measured charges. */
  of: string | null;
  /** True when per-event charges add up exactly to the aggregate (telescoped); false when provisional. */
  exact: boolean;
  /** Per-event charge of the billable range (a, b]. */
  range(a: Decimal, b: Decimal): Priced;
  /** Aggregate of a period whose billable counter reached x. */
  total(x: Decimal): Priced;
  /** The piece holding (a, b], or null when the range crosses a bound where the price changes. */
  piece(a: Decimal, b: Decimal): Piece | null;
  /** Volume charges: the tier a period total of x falls in, whose price every unit gets. */
  tierAt?(x: Decimal): { tier: number; unitPrice: Decimal; flatFee: Decimal };
}

/** A charge priced from each event alone (optionally counting events for free events). */
export interface PerEventCharge {
  kind: 'per-event';
  model: ChargeModelName;
  of: string;
  /** Whether the charge needs the count of earlier events in the period. */
  countsEvents: boolean;
  price(value: Decimal, eventsBefore: number): Priced;
  /** Event counts for which price() stays the same, or null when it does not depend on them. */
  eventsPiece(eventsBefore: number): { from: number; to: number | null } | null;
  /**
   * Aggregate over a period of `events` events carrying `value` in all, or null when per-event
   * minimums or maximums make that impossible; `estimated` when it assumes equal values per event.
   */
  total(value: Decimal, events: number): (Priced & { estimated?: boolean }) | null;
}

export type CompiledCharge = CumulativeCharge | PerEventCharge;

const dec = (text: string | undefined, fallback = ZERO): Decimal => (text === undefined ? fallback : new Decimal(text));

/** Prices quoted per `per` units become prices per unit; `per` is a power of ten, so this is exact. */
function perUnit(text: string, per: Decimal): Decimal {
  return new Decimal(text).div(per);
}

function tiersOf(defs: Array<{ upTo: string | null; unitPrice?: string; rate?: string; flatFee?: string }>, per: Decimal): Tier[] {
  return buildTiers(
    defs.map((d) => ({
      upTo: d.upTo === null ? null : new Decimal(d.upTo),
      unitPrice: d.rate !== undefined ? new Decimal(d.rate).div(HUNDRED) : perUnit(d.unitPrice!, per),
      flatFee: dec(d.flatFee),
    })),
  );
}

function graduatedPiece(tiers: Tier[], a: Decimal, b: Decimal): Piece | null {
  const i = tierHolding(tiers, a, b);
  if (i < 0) return null;
  const t = tiers[i]!;
  const entryFee = !t.flatFee.isZero();
  if (entryFee && a.equals(t.from)) return null; // this event enters the tier and pays its fee
  const from = entryFee ? t.from.plus(COUNTER_EPSILON) : t.from;
  return { from, to: t.upTo && t.upTo.minus(b.minus(a)), slope: t.unitPrice, slopeUnits: t.unitPriceUnits, tier: i + 1 };
}

function volumePiece(tiers: Tier[], a: Decimal, b: Decimal): Piece {
  const q = b.minus(a);
  const i = tierIndexAt(tiers, b);
  const t = tiers[i]!;
  const from = i === 0 ? ZERO : Decimal.max(ZERO, t.from.minus(q).plus(COUNTER_EPSILON));
  return { from, to: t.upTo && t.upTo.minus(q), slope: t.unitPrice, slopeUnits: t.unitPriceUnits, tier: i + 1 };
}

function packagePiece(p: PackagePricing, a: Decimal, b: Decimal): Piece | null {
  const { below, above } = packageBounds(p, a);
  const q = b.minus(a);
  if (p.rounding === 'up') {
    // A package is bought when the range [a, b) holds a multiple of the size.
    if (a.equals(below) || above.lessThan(b)) return null;
    return { from: below.plus(COUNTER_EPSILON), to: above.minus(q), slope: ZERO, slopeUnits: 0n, tier: null };
  }
  // Rounding down: bought when (a, b] holds a multiple.
  if (above.lessThanOrEqualTo(b)) return null;
  return { from: below, to: above.minus(q).minus(COUNTER_EPSILON), slope: ZERO, slopeUnits: 0n, tier: null };
}

/** The pricing function of a charge, from its (validated) parameters. Exhaustive over models. */
export function compileCharge(params: ChargeParams): CompiledCharge {
  const per = dec(params.per, new Decimal(1));
  switch (params.model) {
    case 'per_unit': {
      const price = perUnit(params.unitPrice, per);
      const whole: Piece = { from: ZERO, to: null, slope: price, slopeUnits: priceUnits(price), tier: null };
      return {
        kind: 'cumulative',
        model: params.model,
        measure: 'quantity',
        of: null,
        exact: true,
        range: (a, b) => perUnitRange(price, a, b),
        total: (x) => perUnitRange(price, ZERO, x),
        piece: () => whole,
      };
    }
    case 'graduated':
    case 'graduated_percentage': {
      const tiers = tiersOf(params.tiers, per);
      return {
        kind: 'cumulative',
        model: params.model,
        measure: params.model === 'graduated' ? 'quantity' : 'value',
        of: params.model === 'graduated_percentage' ? params.of : null,
        exact: true,
        range: (a, b) => graduatedRange(tiers, a, b),
        total: (x) => graduatedTotal(tiers, x),
        piece: (a, b) => graduatedPiece(tiers, a, b),
      };
    }
    case 'volume': {
      const tiers = tiersOf(params.tiers, per);
      return {
        kind: 'cumulative',
        model: params.model,
        measure: 'quantity',
        of: null,
        exact: false,
        range: (a, b) => volumeProvisional(tiers, a, b),
        total: (x) => volumeTotal(tiers, x),
        piece: (a, b) => volumePiece(tiers, a, b),
        tierAt: (x) => {
          const i = tierIndexAt(tiers, x);
          return { tier: i + 1, unitPrice: tiers[i]!.unitPrice, flatFee: tiers[i]!.flatFee };
        },
      };
    }
    case 'package': {
      const pricing: PackagePricing = { size: new Decimal(params.size), price: new Decimal(params.price), rounding: params.rounding ?? 'up' };
      return {
        kind: 'cumulative',
        model: params.model,
        measure: 'quantity',
        of: null,
        exact: true,
        range: (a, b) => packageRange(pricing, a, b),
        total: (x) => packageTotal(pricing, x),
        piece: (a, b) => packagePiece(pricing, a, b),
      };
    }
    case 'percentage': {
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
    }
    case 'cost_plus': {
      const markup = new Decimal(params.markupPercent);
      return {
        kind: 'per-event',
        model: params.model,
        of: params.of,
        countsEvents: false,
        price: (value) => costPlus(value, markup),
        eventsPiece: () => null,
        total: (value) => costPlus(value, markup),
      };
    }
  }
}
