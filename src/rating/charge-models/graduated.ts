import type { Decimal } from '../../shared/money/decimal.js';
import type { ChargeCommon, PercentTierDefinition, TierDefinition } from '../types.js';
import { COUNTER_EPSILON, type ChargeModel, type CumulativeCharge, type Piece } from './charge-model.js';
import { graduatedRange, graduatedTotal, tierFigures, tierHolding, tiersOf, type Tier } from './tiers.js';

export { graduatedRange, graduatedTotal } from './tiers.js';

export type GraduatedParams = ChargeCommon & { model: 'graduated'; tiers: TierDefinition[] };
export type GraduatedPercentageParams = ChargeCommon & { model: 'graduated_percentage'; of: string; tiers: PercentTierDefinition[] };

function graduatedPiece(tiers: Tier[], a: Decimal, b: Decimal): Piece | null {
  const i = tierHolding(tiers, a, b);
  if (i < 0) return null;
  const t = tiers[i]!;
  const entryFee = !t.flatFee.isZero();
  if (entryFee && a.equals(t.from)) return null; // this event enters the tier and pays its fee
  const from = entryFee ? t.from.plus(COUNTER_EPSILON) : t.from;
  return { from, to: t.upTo && t.upTo.minus(b.minus(a)), slope: t.unitPrice, slopeUnits: t.unitPriceUnits, tier: i + 1 };
}

function graduated(tiers: Tier[]): Pick<CumulativeCharge, 'exact' | 'range' | 'total' | 'piece'> {
  return { exact: true, range: (a, b) => graduatedRange(tiers, a, b), total: (x) => graduatedTotal(tiers, x), piece: (a, b) => graduatedPiece(tiers, a, b) };
}

export const graduatedModel: ChargeModel<GraduatedParams> = {
  compile: (params, per) => ({ kind: 'cumulative', model: params.model, measure: 'quantity', of: null, ...graduated(tiersOf(params.tiers, per)) }),
  figures: (params, out) => tierFigures(params.tiers, out),
};

/** Graduated over the period's running total of the value `of`, at `rate` percent per tier. */
export const graduatedPercentageModel: ChargeModel<GraduatedPercentageParams> = {
  compile: (params, per) => ({ kind: 'cumulative', model: params.model, measure: 'value', of: params.of, ...graduated(tiersOf(params.tiers, per)) }),
  figures(params, out) {
    for (const t of params.tiers) {
      out.figure(t.rate);
      if (t.upTo !== null) out.figure(t.upTo);
      if (t.flatFee !== undefined) out.figure(t.flatFee);
    }
  },
};
