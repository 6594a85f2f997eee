import { Decimal } from '../../shared/money/decimal.js';
import type { Priced } from './tiers.js';

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
