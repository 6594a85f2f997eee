import { compileRuleSet, type CompiledRuleSet } from '../../../src/rating/compile.js';
import { contentHash } from '../../../src/rating/canonical-json.js';
import type { ChargeParams, RatingInput, RuleDefinition, RuleSetDefinition } from '../../../src/rating/types.js';
import { validateRuleSetText } from '../../../src/rating/validate.js';
import { Decimal } from '../../../src/shared/money/decimal.js';

/** A rule set built through the same validation the loader uses, so tests see what production sees. */
export function ruleSet(rules: RuleDefinition[], extra: Partial<RuleSetDefinition> = {}): CompiledRuleSet {
  const definition: RuleSetDefinition = { key: 'test', version: 1, effectiveFrom: '2026-01-01T00:00:00Z', currency: 'USD', rules, ...extra };
  const result = validateRuleSetText(JSON.stringify(definition));
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return compileRuleSet(result.definition, contentHash(result.definition));
}

/** One rule that always charges with these parameters. */
export const always = (params: ChargeParams, name = 'charge'): RuleDefinition => ({
  name,
  conditions: { all: [{ fact: 'event', path: '$.meter', operator: 'equal', value: 'tokens' }] },
  event: { type: 'charge', params },
});

export function input(quantity: string, counters: Record<string, string> = {}, extra: Partial<RatingInput['event']> = {}): RatingInput {
  const map = new Map(Object.entries(counters).map(([k, v]) => [k, new Decimal(v)]));
  return {
    event: { meter: 'tokens', quantity: new Decimal(quantity), timestamp: new Date('2026-03-01T00:00:00Z'), dimensions: {}, values: {}, ...extra },
    customer: { id: 'c1', externalId: 'ext', metadata: {} },
    plan: null,
    period: { quantity: map.get('__period') ?? new Decimal(0), counters: map },
  };
}
