import { Decimal } from '../../shared/money/decimal.js';
import type { ChargeCommon, PercentTierDefinition, TierDefinition } from '../types.js';
import { COUNTER_EPSILON, ZERO, type ChargeModel, type CumulativeCharge, type Piece } from './charge-model.js';
import { graduatedRange, graduatedTotal, tierFigures, tierHolding, tiersOf, type Tier } from './tiers.js';

export { graduatedRange, graduatedTotal } from './tiers.js';

/** `flatFeeAtZero: false`: a period without usage owes nothing, not the first tier's flat fee. */
export type GraduatedParams = ChargeCommon & { model: 'graduated'; tiers: TierDefinition[]; flatFeeAtZero?: boolean };
export type GraduatedPercentageParams = ChargeCommon & { model: 'graduated_percentage'; of: string; tiers: PercentTierDefinition[]; flatFeeAtZero?: boolean };

function graduatedPiece(tiers: Tier[], a: Decimal, b: Decimal): Piece | null {
  const i = tierHolding(tiers, a, b);
  if (i < 0) return null;
  const t = tiers[i]!;
  const entryFee = !t.flatFee.isZero();
  if (entryFee && a.equals(t.from)) return null; // this event enters the tier and pays its fee
  const from = entryFee ? t.from.plus(COUNTER_EPSILON) : t.from;
  const to = t.upTo && t.upTo.minus(b.minus(a));
  if (t.block) return blockPiece(t, from, to, a, b);
  return { from, to, slope: t.unitPrice, slopeUnits: t.unitPriceUnits, tier: i + 1 };
}

/**
 * Inside a tier with blocks, an event that adds no whole block pays nothing wherever it starts
 * within its block; an event that adds a block (or ends past the tier's last full block) is a
 * price change: null.
 */
function blockPiece(t: Tier, from: Decimal, to: Decimal | null, a: Decimal, b: Decimal): Piece | null {
  const block = t.block!;
  const q = b.minus(a);
  const below = a.minus(t.from).div(block.size).floor().times(block.size).plus(t.from);
  const above = below.plus(block.size);
  let lo: Decimal;
  let hi: Decimal;
  if (block.rounding === 'up') {
    // A block is billed when the event's range (a, b] reaches past a block's start.
    if (a.equals(below) || above.lessThan(b)) return null;
    lo = below.plus(COUNTER_EPSILON);
    hi = above.minus(q);
  } else {
    // Rounding down: billed when (a, b] holds a block's end.
    if (above.lessThanOrEqualTo(b)) return null;
    lo = below;
    hi = above.minus(q).minus(COUNTER_EPSILON);
  }
  lo = Decimal.max(lo, from);
  if (to !== null && to.lessThan(hi)) hi = to;
  if (hi.lessThan(lo) || a.lessThan(lo) || a.greaterThan(hi)) return null;
  return { from: lo, to: hi, slope: ZERO, slopeUnits: 0n, tier: null };
}

function graduated(tiers: Tier[], feeAtZero = true): Pick<CumulativeCharge, 'exact' | 'range' | 'total' | 'piece'> {
  return { exact: true, range: (a, b) => graduatedRange(tiers, a, b), total: (x) => graduatedTotal(tiers, x, feeAtZero), piece: (a, b) => graduatedPiece(tiers, a, b) };
}

export const graduatedModel: ChargeModel<GraduatedParams> = {
  compile: (params, per) => ({ kind: 'cumulative', model: params.model, measure: 'quantity', of: null, ...graduated(tiersOf(params.tiers, per), params.flatFeeAtZero ?? true) }),
  figures: (params, out) => tierFigures(params.tiers, out),
};

/** Graduated over the period's running total of the value `of`, at `rate` percent per tier. */
export const graduatedPercentageModel: ChargeModel<GraduatedPercentageParams> = {
  compile: (params, per) => ({ kind: 'cumulative', model: params.model, measure: 'value', of: params.of, ...graduated(tiersOf(params.tiers, per), params.flatFeeAtZero ?? true) }),
  figures(params, out) {
    for (const t of params.tiers) {
      out.figure(t.rate);
      if (t.upTo !== null) out.figure(t.upTo);
      if (t.flatFee !== undefined) out.figure(t.flatFee);
    }
  },
};
