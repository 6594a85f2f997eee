import { Decimal } from '../../shared/money/decimal.js';
import type { ChargeCommon } from '../types.js';
import { perUnit, ZERO, type ChargeModel, type Piece } from './charge-model.js';
import { priceUnits, type Priced } from './tiers.js';

export type PerUnitParams = ChargeCommon & { model: 'per_unit'; unitPrice: string };

/** Per-unit pricing of the counter range (a, b]: every unit at one price. */
export function perUnitRange(unitPrice: Decimal, a: Decimal, b: Decimal): Priced {
  return { amount: b.minus(a).times(unitPrice), parts: [] };
}

export const perUnitModel: ChargeModel<PerUnitParams> = {
  compile(params, per) {
    const price = perUnit(params.unitPrice, per);
    const whole: Piece = { from: ZERO, to: null, slope: price, slopeUnits: priceUnits(price), tier: null };
    return {
      kind: 'cumulative',
      model: params.model,
      measure: 'quantity',
      of: null,
      exact: true,
      range: (a, b) => perUnitRange(price, a, b),
      total: (x) => perUnitRange(price, ZERO, x),
      piece: () => whole,
    };
  },
  figures: (params, out) => out.price(params.unitPrice),
};
