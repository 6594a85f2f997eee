import { Decimal } from '../../shared/money/decimal.js';
import type { ChargeCommon } from '../types.js';
import { COUNTER_EPSILON, ZERO, type ChargeModel, type Piece } from './charge-model.js';
import type { Priced } from './tiers.js';

export type PackageParams = ChargeCommon & { model: 'package'; size: string; price: string; rounding?: 'up' | 'down' };

export interface PackagePricing {
  size: Decimal;
  price: Decimal;
  rounding: 'up' | 'down';
}

/** Packages bought when the counter stands at x: ceil(x / size), or floor with rounding down. */
export function packageCount(p: PackagePricing, x: Decimal): Decimal {
  const packs = x.div(p.size);
  return p.rounding === 'up' ? packs.ceil() : packs.floor();
}

/** Packages bought by the counter range (a, b], at the package price. */
export function packageRange(p: PackagePricing, a: Decimal, b: Decimal): Priced & { packages: Decimal } {
  const packages = packageCount(p, b).minus(packageCount(p, a));
  return { amount: packages.times(p.price), parts: [], packages };
}

/** The package bound at or below x, and the next one above. */
export function packageBounds(p: PackagePricing, x: Decimal): { below: Decimal; above: Decimal } {
  const below = x.div(p.size).floor().times(p.size);
  return { below, above: below.plus(p.size) };
}

export const packageTotal = (p: PackagePricing, x: Decimal): Priced => packageRange(p, new Decimal(0), x);

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

export const packageModel: ChargeModel<PackageParams> = {
  compile(params) {
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
  },
  figures(params, out) {
    out.figure(params.size);
    out.figure(params.price);
  },
  check: (params) => (new Decimal(params.size).isZero() ? [['size', 'must be greater than zero']] : []),
};
