import { Decimal } from '../../shared/money/decimal.js';
import type { PercentTierDefinition, TierDefinition, TierPart } from '../types.js';
import { dec, perUnit, type FigureSink } from './charge-model.js';

const ZERO = new Decimal(0);

/** A tier with its lower bound made explicit and prices already divided by `per`. */
export interface Tier {
  /** Exclusive lower bound: the tier holds positions in (from, upTo]. */
  from: Decimal;
  /** Inclusive upper bound; null for the last, open tier. */
  upTo: Decimal | null;
  unitPrice: Decimal;
  flatFee: Decimal;
  /** unitPrice in ledger units (1e-9) when that is a whole number, for exact integer arithmetic. */
  unitPriceUnits: bigint | null;
  /** Units counted in whole blocks of `size` (a partial block rounded up or down); null: every unit counts. */
  block: Block | null;
}

export interface Block {
  size: Decimal;
  rounding: 'up' | 'down';
}

/** The units billed for p units: p in whole blocks, rounded as the block says, at most `cap`. */
export function blockUnits(block: Block, p: Decimal, cap: Decimal | null = null): Decimal {
  const blocks = p.div(block.size);
  const billed = (block.rounding === 'up' ? blocks.ceil() : blocks.floor()).times(block.size);
  return cap !== null && billed.greaterThan(cap) ? cap : billed;
}

/** A price in ledger units (1e-9 of the currency) when it is a whole number of them. */
export function priceUnits(price: Decimal): bigint | null {
  const scaled = price.times(1e9);
  return scaled.isInteger() ? BigInt(scaled.toFixed()) : null;
}

/** The result of pricing a range of a period counter. */
export interface Priced {
  amount: Decimal;
  parts: TierPart[];
}

export const NOTHING: Priced = { amount: ZERO, parts: [] };

/** Builds tiers from ordered inclusive upper bounds. */
export function buildTiers(defs: Array<{ upTo: Decimal | null; unitPrice: Decimal; flatFee: Decimal; block?: Block | null }>): Tier[] {
  let from = ZERO;
  return defs.map((d) => {
    const tier = { from, upTo: d.upTo, unitPrice: d.unitPrice, flatFee: d.flatFee, unitPriceUnits: priceUnits(d.unitPrice), block: d.block ?? null };
    from = d.upTo ?? from;
    return tier;
  });
}

/** The 0-based index of the tier holding position x; position 0 belongs to the first tier. */
export function tierIndexAt(tiers: Tier[], x: Decimal): number {
  for (let i = 0; i < tiers.length; i++) {
    const upTo = tiers[i]!.upTo;
    if (upTo === null || x.lessThanOrEqualTo(upTo)) return i;
  }
  return tiers.length - 1;
}

/** Units a tier bills for the counter range (lo, hi] inside it: hi − lo, or the difference of whole blocks. */
function tierUnits(t: Tier, lo: Decimal, hi: Decimal): Decimal {
  if (!t.block) return hi.minus(lo);
  const width = t.upTo && t.upTo.minus(t.from);
  return blockUnits(t.block, hi.minus(t.from), width).minus(blockUnits(t.block, lo.minus(t.from), width));
}

/**
 * Graduated pricing of the counter range (a, b]: each unit at the price of the tier it falls in,
 * and a tier's flat fee once, when the range enters it (a <= from < b; the first tier is entered
 * by the range that starts at 0). A tier with blocks bills the whole blocks the range adds to it
 * (its units counted from the tier's start, the last block cut at the tier's end).
 */
export function graduatedRange(tiers: Tier[], a: Decimal, b: Decimal): Priced {
  const parts: TierPart[] = [];
  let amount = ZERO;
  for (let i = 0; i < tiers.length; i++) {
    const t = tiers[i]!;
    const lo = Decimal.max(a, t.from);
    const hi = t.upTo === null ? b : Decimal.min(b, t.upTo);
    if (hi.lessThanOrEqualTo(lo)) continue;
    const quantity = tierUnits(t, lo, hi);
    const flatFee = a.lessThanOrEqualTo(t.from) && t.from.lessThan(b) ? t.flatFee : ZERO;
    if (t.block && quantity.isZero() && flatFee.isZero()) continue;
    const partAmount = quantity.times(t.unitPrice).plus(flatFee);
    parts.push({ tier: i + 1, quantity, unitPrice: t.unitPrice, flatFee, amount: partAmount });
    amount = amount.plus(partAmount);
  }
  return { amount, parts };
}

/**
 * Graduated aggregate of a period that reached x; at x = 0 the first tier's flat fee is still due,
 * unless `feeAtZero` is false.
 */
export function graduatedTotal(tiers: Tier[], x: Decimal, feeAtZero = true): Priced {
  if (x.isZero()) {
    const first = tiers[0]!;
    if (first.flatFee.isZero() || !feeAtZero) return NOTHING;
    return { amount: first.flatFee, parts: [{ tier: 1, quantity: ZERO, unitPrice: first.unitPrice, flatFee: first.flatFee, amount: first.flatFee }] };
  }
  return graduatedRange(tiers, ZERO, x);
}

/** The tier holding the whole range (a, b], or -1 when the range crosses a tier bound. */
export function tierHolding(tiers: Tier[], a: Decimal, b: Decimal): number {
  const i = tierIndexAt(tiers, b);
  return a.greaterThanOrEqualTo(tiers[i]!.from) ? i : -1;
}

const HUNDRED = new Decimal(100);

/** Tiers of a rule file, prices divided by `per` (percent tiers: rates as fractions). */
export function tiersOf(defs: Array<TierDefinition | PercentTierDefinition>, per: Decimal): Tier[] {
  return buildTiers(
    defs.map((d) => ({
      upTo: d.upTo === null ? null : new Decimal(d.upTo),
      unitPrice: 'rate' in d ? new Decimal(d.rate).div(HUNDRED) : perUnit(d.unitPrice, per),
      flatFee: dec(d.flatFee),
      block: 'blockSize' in d && d.blockSize !== undefined ? { size: new Decimal(d.blockSize), rounding: d.rounding ?? 'up' } : null,
    })),
  );
}

/** Figures of price tiers: prices, bounds, fees, and each tier's discount on the first tier's price and the previous one's ("10% off from 10M"). */
export function tierFigures(tiers: TierDefinition[], out: FigureSink): void {
  for (const t of tiers) {
    out.price(t.unitPrice);
    if (t.upTo !== null) out.figure(t.upTo);
    if (t.flatFee !== undefined) out.figure(t.flatFee);
    if (t.blockSize !== undefined) out.figure(t.blockSize);
  }
  const prices = tiers.map((t) => new Decimal(t.unitPrice));
  prices.forEach((q, i) => {
    for (const ref of [prices[0]!, prices[i - 1]]) if (ref && !ref.isZero()) out.figure(HUNDRED.minus(q.div(ref).times(HUNDRED)).abs());
  });
}
