import { Decimal } from '../shared/money/decimal.js';
import { compileCharge, type CompiledCharge } from './charge-models/index.js';
import { RuleSelector } from './selection.js';
import type { AdjustmentParams, ChargeParams, RuleSetDefinition, RuleSetPurpose, RuleSetRef } from './types.js';

export interface CompiledComponent {
  params: ChargeParams;
  charge: CompiledCharge;
  freeUnits: Decimal;
}

/** A rule-set version ready to rate: the selector built once, each charge compiled once. */
export interface CompiledRuleSet {
  ref: RuleSetRef;
  definition: RuleSetDefinition;
  effectiveFrom: Date;
  currency: string;
  /** "price" (what customers are charged) or "cost" (a cost book). */
  purpose: RuleSetPurpose;
  minimumSpend: Decimal | null;
  /** The most its charges add up to in a period (after adjustments), or null. */
  maximumSpend?: Decimal | null;
  /** What an event no charge prices gets: refused (UNPRICED_EVENT) or accepted free. */
  unmatched: 'refuse' | 'free';
  selector: RuleSelector;
  components: Map<string, CompiledComponent>;
  adjustmentFactor(params: AdjustmentParams): Decimal;
}

const HUNDRED = new Decimal(100);

/** Compiles a validated definition; `hash` is its content hash. */
export function compileRuleSet(definition: RuleSetDefinition, hash: string): CompiledRuleSet {
  const components = new Map<string, CompiledComponent>();
  for (const rule of definition.rules) {
    if (rule.event.type !== 'charge') continue;
    const params = rule.event.params;
    components.set(params.id, { params, charge: compileCharge(params), freeUnits: new Decimal(params.freeUnits ?? 0) });
  }
  const factors = new Map<string, Decimal>();
  return {
    ref: { key: definition.key, version: definition.version, hash },
    definition,
    effectiveFrom: new Date(definition.effectiveFrom),
    currency: definition.currency,
    purpose: definition.purpose ?? 'price',
    minimumSpend: definition.minimumSpend === undefined ? null : new Decimal(definition.minimumSpend),
    maximumSpend: definition.maximumSpend === undefined ? null : new Decimal(definition.maximumSpend),
    unmatched: definition.unmatched ?? 'refuse',
    selector: new RuleSelector(definition.rules),
    components,
    adjustmentFactor(params) {
      let factor = factors.get(params.id);
      if (!factor) {
        factor =
          params.kind === 'markup'
            ? HUNDRED.plus(params.percent).div(HUNDRED)
            : params.kind === 'discount'
              ? HUNDRED.minus(params.percent).div(HUNDRED)
              : new Decimal(params.factor);
        factors.set(params.id, factor);
      }
      return factor;
    },
  };
}
