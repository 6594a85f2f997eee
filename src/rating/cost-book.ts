import { Decimal } from '../shared/money/decimal.js';
import { roundToLedgerUnits } from '../shared/money/units.js';
import { compileCharge } from './charge-models/index.js';
import type { CompiledRuleSet } from './compile.js';
import { rateEvent, rateEventIfWarm } from './rate-event.js';
import type { ConditionDefinition, EventRating, RatingInput, RuleSetDefinition } from './types.js';

/*
 * Cost books: rule sets with `"purpose": "cost"`, which say what serving an event costs (the
 * provider's price per model and token type). A cost book prices each event alone: it never
 * refuses and reads no period state, so an event's cost is the same whenever and however often
 * it is rated, and rating it can neither refuse nor hold back usage.
 */

/** The value an event carries its actual provider cost in (the one cost-plus reads): it is then the event's cost. */
export const ACTUAL_COST_VALUE = 'providerCost';

/** The models a cost book may use: priced from the event alone (per_unit without an allowance or cap). */
const COUNTER_FREE_CUMULATIVE = new Set(['per_unit']);

/** The key and version of a cost book that priced an event. */
export interface CostBookUse {
  key: string;
  version: number;
}

/** What serving one event cost. */
export interface EventCost {
  /** Exact amount, in `currency`. */
  amount: Decimal;
  /** The amount in ledger units (1e-9 of the currency), rounded half-up once. */
  units: bigint;
  currency: string;
  /** BOOK: the cost books in force priced it; ACTUAL: the event carried its provider cost. */
  source: 'BOOK' | 'ACTUAL';
  /** The cost books whose rules priced it (empty for ACTUAL). */
  books: CostBookUse[];
}

type Fail = (path: Array<string | number>, message: string) => void;

/**
 * What a cost book may not say, each at its place: a refusal, a period minimum or maximum, what
 * happens to unmatched events, allowances, caps, counters, charges whose price depends on the
 * period (tiers, packages, free events or amounts) and conditions on the period's usage.
 */
export function costBookProblems(def: RuleSetDefinition, fail: Fail): void {
  const alone = 'a cost book prices each event alone';
  if (def.minimumSpend !== undefined) fail(['minimumSpend'], `is not allowed in a cost book: ${alone}, with no period minimum`);
  if (def.maximumSpend !== undefined) fail(['maximumSpend'], `is not allowed in a cost book: ${alone}, with no period maximum`);
  if (def.unmatched !== undefined) fail(['unmatched'], 'is not allowed in a cost book: an event no cost book prices has an unknown cost, and is never refused');
  (Array.isArray(def.rules) ? def.rules : []).forEach((rule, r) => {
    try {
      checkCostConditions(rule.conditions, ['rules', r, 'conditions'], fail);
      const ev = rule.event;
      const at = (...rest: Array<string | number>) => ['rules', r, 'event', ...rest];
      if (ev.type === 'refuse') fail(at('type'), 'a cost book never refuses an event: it only says what serving it costs; refusals belong in the price rule set');
      if (ev.type !== 'charge') return;
      const p = ev.params;
      for (const param of ['freeUnits', 'maximumSpend', 'counter', 'counterBy'] as const) {
        if (p[param] !== undefined) fail(at('params', param), `is not allowed in a cost book: ${alone}, without period counters`);
      }
      const charge = compileCharge({ ...p, maximumSpend: undefined });
      if (charge.kind === 'cumulative' && !COUNTER_FREE_CUMULATIVE.has(p.model)) {
        fail(at('params', 'model'), `a ${p.model} charge is priced from a period counter; ${alone}: use per_unit, percentage or cost_plus`);
      }
      if (charge.kind === 'per-event') {
        if ('freeEvents' in p && p.freeEvents !== undefined) fail(at('params', 'freeEvents'), `is not allowed in a cost book: ${alone}, without counting the period's events`);
        if ('freeAmount' in p && p.freeAmount !== undefined) fail(at('params', 'freeAmount'), `is not allowed in a cost book: ${alone}, without the period's running total`);
      }
    } catch {
      // Too far off for these checks; the schema's faults stand for it.
    }
  });
}

function checkCostConditions(c: ConditionDefinition, path: Array<string | number>, fail: Fail): void {
  if ('all' in c) return c.all.forEach((x, i) => checkCostConditions(x, [...path, 'all', i], fail));
  if ('any' in c) return c.any.forEach((x, i) => checkCostConditions(x, [...path, 'any', i], fail));
  if ('not' in c) return checkCostConditions(c.not, [...path, 'not'], fail);
  if (c.fact === 'period') fail([...path, 'fact'], 'a cost book prices each event alone and cannot read the period\'s usage');
}

/** The rating input of a cost book: the event alone, its own quantity, no period state. */
export function costRatingInput(input: Pick<RatingInput, 'event' | 'customer' | 'plan'>): RatingInput {
  return { event: input.event, customer: input.customer, plan: input.plan, period: { quantity: ZERO, counters: NO_COUNTERS } };
}

const ZERO = new Decimal(0);
const NO_COUNTERS = { get: () => undefined };

/**
 * What serving an event cost. The event's own provider cost (`values.providerCost`, in the
 * event's `currency`) when it carries one (ACTUAL); else the sum of the lines of every cost book
 * in force whose rules priced it (BOOK), rounded once, half-up, to ledger units. Null (unknown,
 * never zero) when no book priced it, when a book's matching charge lacks a value it needs, or
 * when the books that priced it are in different currencies.
 */
export async function rateCost(books: readonly CompiledRuleSet[], input: RatingInput, currency: string): Promise<EventCost | null> {
  const actual = actualCost(input, currency);
  if (actual !== undefined) return actual;
  const ratings: EventRating[] = [];
  for (const book of books) ratings.push(rateEventIfWarm(book, input) ?? (await rateEvent(book, input)));
  return costOfRatings(books, ratings);
}

/** rateCost without waiting, when every cost book's rule selection is memoised already; undefined when one is not. */
export function rateCostIfWarm(books: readonly CompiledRuleSet[], input: RatingInput, currency: string): EventCost | null | undefined {
  const actual = actualCost(input, currency);
  if (actual !== undefined) return actual;
  const ratings: EventRating[] = [];
  for (const book of books) {
    const rating = rateEventIfWarm(book, input);
    if (!rating) return undefined;
    ratings.push(rating);
  }
  return costOfRatings(books, ratings);
}

function actualCost(input: RatingInput, currency: string): EventCost | undefined {
  const actual = Object.hasOwn(input.event.values, ACTUAL_COST_VALUE) ? input.event.values[ACTUAL_COST_VALUE] : undefined;
  return actual === undefined ? undefined : { amount: actual, units: roundToLedgerUnits(actual, 'HALF_UP'), currency, source: 'ACTUAL', books: [] };
}

function costOfRatings(books: readonly CompiledRuleSet[], ratings: EventRating[]): EventCost | null {
  let amount = ZERO;
  let costCurrency: string | null = null;
  const used: CostBookUse[] = [];
  for (let i = 0; i < books.length; i++) {
    const book = books[i]!;
    const rating = ratings[i]!;
    if (rating.refusal) {
      // No charge matched: the book says nothing of this event. A charge that matched but lacks a value: unknown.
      if (rating.refusal.source === 'unpriced') continue;
      return null;
    }
    if (rating.lines.length === 0) continue;
    if (costCurrency !== null && costCurrency !== book.currency) return null;
    costCurrency = book.currency;
    amount = amount.plus(rating.amount);
    used.push({ key: book.ref.key, version: book.ref.version });
  }
  if (costCurrency === null) return null;
  return { amount, units: roundToLedgerUnits(amount, 'HALF_UP'), currency: costCurrency, source: 'BOOK', books: used };
}
