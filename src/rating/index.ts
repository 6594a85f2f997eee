/**
 * The rating core: pure pricing of usage events from rule sets. Nothing here does I/O; an
 * architecture test keeps it that way.
 */
export { compileRuleSet, type CompiledRuleSet } from './compile.js';
export { rateEvent, rateEventIfWarm, priceSelection, counterKey } from './rate-event.js';
export { rateAggregate, type AggregateInput, type AggregateLine, type AggregateRating } from './rate-aggregate.js';
export { validateRuleSetText, type RuleFileProblem, type RuleSetValidation } from './validate.js';
export { contentHash, canonicalJson } from './canonical-json.js';
export { toSelectionFacts, type SelectionFacts } from './selection.js';
export * from './types.js';
export { RuleBook } from './rule-book.js';
export { ACTUAL_COST_VALUE, costRatingInput, rateCost, rateCostIfWarm, type CostBookUse, type EventCost } from './cost-book.js';
