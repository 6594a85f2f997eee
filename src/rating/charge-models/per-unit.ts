import type { Decimal } from '../../shared/money/decimal.js';
import type { Priced } from './tiers.js';

/** Per-unit pricing of the counter range (a, b]: every unit at one price. */
export function perUnitRange(unitPrice: Decimal, a: Decimal, b: Decimal): Priced {
  return { amount: b.minus(a).times(unitPrice), parts: [] };
}
