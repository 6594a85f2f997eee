import { Decimal } from '../../shared/money/decimal.js';
import type { ChargeCommon, TierDefinition } from '../types.js';
import { COUNTER_EPSILON, ZERO, type ChargeModel, type Piece } from './charge-model.js';
import { blockUnits, tierFigures, tierIndexAt, tiersOf, type Priced, type Tier } from './tiers.js';

export type VolumeParams = ChargeCommon & { model: 'volume'; tiers: TierDefinition[]; flatFeeAtZero?: boolean };

/**
 * Volume aggregate of a period that reached x: every unit at the price of x's tier (counted in
 * that tier's whole blocks when it has them), plus that tier's flat fee; at x = 0 nothing when
 * `feeAtZero` is false.
 */
export function volumeTotal(tiers: Tier[], x: Decimal, feeAtZero = true): Priced {
  if (x.isZero() && !feeAtZero) return { amount: ZERO, parts: [] };
  const i = tierIndexAt(tiers, x);
  const t = tiers[i]!;
  const quantity = t.block ? blockUnits(t.block, x) : x;
  const amount = quantity.times(t.unitPrice).plus(t.flatFee);
  if (amount.isZero()) return { amount, parts: [] };
  return { amount, parts: [{ tier: i + 1, quantity, unitPrice: t.unitPrice, flatFee: t.flatFee, amount }] };
}

/**
 * The provisional charge of an event that moves the counter from a to b: its units at the price
 * of the tier b falls in, without flat fees. Exact only in aggregate, so the invoice trues it up.
 */
export function volumeProvisional(tiers: Tier[], a: Decimal, b: Decimal): Priced {
  const i = tierIndexAt(tiers, b);
  const t = tiers[i]!;
  const quantity = b.minus(a);
  const amount = quantity.times(t.unitPrice);
  return { amount, parts: [{ tier: i + 1, quantity, unitPrice: t.unitPrice, flatFee: new Decimal(0), amount }] };
}

function volumePiece(tiers: Tier[], a: Decimal, b: Decimal): Piece {
  const q = b.minus(a);
  const i = tierIndexAt(tiers, b);
  const t = tiers[i]!;
  const from = i === 0 ? ZERO : Decimal.max(ZERO, t.from.minus(q).plus(COUNTER_EPSILON));
  return { from, to: t.upTo && t.upTo.minus(q), slope: t.unitPrice, slopeUnits: t.unitPriceUnits, tier: i + 1 };
}

export const volumeModel: ChargeModel<VolumeParams> = {
  compile(params, per) {
    const tiers = tiersOf(params.tiers, per);
    return {
      kind: 'cumulative',
      model: params.model,
      measure: 'quantity',
      of: null,
      exact: false,
      range: (a, b) => volumeProvisional(tiers, a, b),
      total: (x) => volumeTotal(tiers, x, params.flatFeeAtZero ?? true),
      piece: (a, b) => volumePiece(tiers, a, b),
      tierAt: (x) => {
        const i = tierIndexAt(tiers, x);
        return { tier: i + 1, unitPrice: tiers[i]!.unitPrice, flatFee: tiers[i]!.flatFee };
      },
    };
  },
  figures: (params, out) => tierFigures(params.tiers, out),
};
