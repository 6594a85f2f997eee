import { Decimal } from '../../shared/money/decimal.js';
import { COUNTER_EPSILON, ZERO, type CumulativeCharge, type Piece } from './charge-model.js';
import type { Priced } from './tiers.js';

/** A period amount at most `cap`; a capped amount no longer splits into tiers, so it has no parts. */
function capTotal(priced: Priced, cap: Decimal): Priced {
  if (priced.amount.lessThanOrEqualTo(cap)) return priced;
  return { amount: cap, parts: [] };
}

/**
 * A counter charge whose period amount stops at `cap` (the charge's `maximumSpend`): with H the
 * charge's period function, the capped one is min(H, cap). An event that crosses the cap pays only
 * up to it, events past it pay nothing, and range(a, b) = total(b) − total(a) still holds. The cap
 * is a point where the price changes: `piece` is null for a range that reaches past it from below.
 */
export function capped(charge: CumulativeCharge, cap: Decimal): CumulativeCharge {
  const h = (x: Decimal) => (x.isZero() ? ZERO : charge.range(ZERO, x).amount);
  const range = (a: Decimal, b: Decimal): Priced => {
    if (!charge.exact) {
      // Provisional: the event's own amount, at most what the cap leaves of the period's total so far.
      const own = charge.range(a, b);
      const left = Decimal.max(ZERO, cap.minus(charge.total(a).amount));
      return own.amount.lessThanOrEqualTo(left) ? own : { amount: left, parts: [] };
    }
    const ha = h(a);
    if (ha.greaterThanOrEqualTo(cap)) return { amount: ZERO, parts: [] };
    const own = charge.range(a, b);
    const hb = ha.plus(own.amount);
    return hb.lessThanOrEqualTo(cap) ? own : { amount: cap.minus(ha), parts: [] };
  };
  const piece = (a: Decimal, b: Decimal): Piece | null => {
    if (!charge.exact) return null; // a provisional amount left under the cap depends on the exact counter
    const ha = h(a);
    if (ha.greaterThanOrEqualTo(cap)) return { from: a, to: null, slope: ZERO, slopeUnits: 0n, tier: null };
    const inner = charge.piece(a, b);
    if (!inner) return null;
    const over = ha.plus(charge.range(a, b).amount).minus(cap);
    if (over.greaterThan(0)) return null;
    if (inner.slope.isZero()) return inner;
    // Inside the piece the amount before the event grows by `slope` per unit: the cap bounds where it may start.
    const last = a.minus(over.div(inner.slope)).div(COUNTER_EPSILON).floor().times(COUNTER_EPSILON);
    return { ...inner, to: inner.to === null ? last : Decimal.min(inner.to, last) };
  };
  return { ...charge, range, total: (x) => capTotal(charge.total(x), cap), piece };
}
