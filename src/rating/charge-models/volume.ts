import { Decimal } from '../../shared/money/decimal.js';
import { tierIndexAt, type Priced, type Tier } from './tiers.js';

/** Volume aggregate of a period that reached x: every unit at the price of x's tier, plus that tier's flat fee. */
export function volumeTotal(tiers: Tier[], x: Decimal): Priced {
  const i = tierIndexAt(tiers, x);
  const t = tiers[i]!;
  const amount = x.times(t.unitPrice).plus(t.flatFee);
  if (amount.isZero()) return { amount, parts: [] };
  return { amount, parts: [{ tier: i + 1, quantity: x, unitPrice: t.unitPrice, flatFee: t.flatFee, amount }] };
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
