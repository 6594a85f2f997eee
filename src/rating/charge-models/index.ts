import { Decimal } from '../../shared/money/decimal.js';
import { dec, type ChargeModel, type CompiledCharge, type FigureSink } from './charge-model.js';
import { costPlusModel, type CostPlusParams } from './cost-plus.js';
import { capped } from './maximum-spend.js';
import { graduatedModel, graduatedPercentageModel, type GraduatedParams, type GraduatedPercentageParams } from './graduated.js';
import { packageModel, type PackageParams } from './package.js';
import { percentageModel, type PercentageParams } from './percentage.js';
import { perUnitModel, type PerUnitParams } from './per-unit.js';
import { volumeModel, type VolumeParams } from './volume.js';

export { COUNTER_EPSILON, type ChargeModel, type CompiledCharge, type CumulativeCharge, type FigureSink, type PerEventCharge, type Piece } from './charge-model.js';

/** A charge's parameters as a rule file writes them: the common ones and its model's own. */
export type ChargeParams = PerUnitParams | GraduatedParams | VolumeParams | PackageParams | PercentageParams | GraduatedPercentageParams | CostPlusParams;

/**
 * Every charge model, by the name rule files give it: the one list of models. The JSON Schema's
 * charge branches must name the same models (a test compares them).
 */
export const CHARGE_MODELS: { readonly [M in ChargeParams['model']]: ChargeModel<Extract<ChargeParams, { model: M }>> } = {
  per_unit: perUnitModel,
  graduated: graduatedModel,
  volume: volumeModel,
  package: packageModel,
  percentage: percentageModel,
  graduated_percentage: graduatedPercentageModel,
  cost_plus: costPlusModel,
};

const modelOf = (params: ChargeParams) => CHARGE_MODELS[params.model] as ChargeModel<ChargeParams>;

/** The pricing function of a charge, from its (validated) parameters. */
export function compileCharge(params: ChargeParams): CompiledCharge {
  const charge = modelOf(params).compile(params, dec(params.per, new Decimal(1)));
  if (params.maximumSpend === undefined || charge.kind !== 'cumulative') return charge;
  return capped(charge, new Decimal(params.maximumSpend));
}

/** The figures of a charge's own parameters, for description checks. */
export function chargeModelFigures(params: ChargeParams, out: FigureSink): void {
  modelOf(params).figures(params, out);
  if (params.maximumSpend !== undefined) out.figure(params.maximumSpend);
}

/** What the JSON Schema cannot say about a charge's parameters, as [parameter, message]. */
export function chargeModelProblems(params: ChargeParams): Array<[string, string]> {
  const problems = modelOf(params).check?.(params) ?? [];
  if (params.maximumSpend !== undefined && compileCharge({ ...params, maximumSpend: undefined }).kind !== 'cumulative') {
    problems.push(['maximumSpend', `a ${params.model} charge is priced per event, without a period counter to cap`]);
  }
  return problems;
}
