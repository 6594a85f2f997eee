import { Decimal } from '../../shared/money/decimal.js';
import type { Priced } from './tiers.js';

/** The provider cost an event carries, plus a markup in percent. */
export function costPlus(cost: Decimal, markupPercent: Decimal): Priced {
  return { amount: cost.times(markupPercent.plus(100)).div(100), parts: [] };
}
