import { Decimal } from '../../shared/money/decimal.js';
import type { ChargeCommon } from '../types.js';
import type { ChargeModel } from './charge-model.js';
import type { Priced } from './tiers.js';

export type CostPlusParams = ChargeCommon & { model: 'cost_plus'; of: string; markupPercent: string };

/** The provider cost an event carries, plus a markup in percent. */
export function costPlus(cost: Decimal, markupPercent: Decimal): Priced {
  return { amount: cost.times(markupPercent.plus(100)).div(100), parts: [] };
}

export const costPlusModel: ChargeModel<CostPlusParams> = {
  compile(params) {
    const markup = new Decimal(params.markupPercent);
    return {
      kind: 'per-event',
      model: params.model,
      of: params.of,
      countsEvents: false,
      price: (value) => costPlus(value, markup),
      eventsPiece: () => null,
      total: (value) => costPlus(value, markup),
    };
  },
  figures: (params, out) => out.figure(params.markupPercent),
};
