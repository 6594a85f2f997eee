import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { costRatingInput, rateCost, rateCostIfWarm } from '../../../src/rating/cost-book.js';
import { RuleBook } from '../../../src/rating/rule-book.js';
import type { RuleDefinition } from '../../../src/rating/types.js';
import { validateRuleSetText } from '../../../src/rating/validate.js';
import { Decimal } from '../../../src/shared/money/decimal.js';
import { always, input, ruleSet } from './helpers.js';

const shipped = readFileSync(new URL('../../../rules/provider-costs/v1.json', import.meta.url), 'utf8');

/** The problems of a cost book made of these rules and top-level fields, as [pointer, message]. */
function costProblems(rules: RuleDefinition[], extra: Record<string, unknown> = {}): Array<[string, string]> {
  const doc = { key: 'costs', version: 1, effectiveFrom: '2026-01-01T00:00:00Z', currency: 'USD', purpose: 'cost', rules, ...extra };
  const result = validateRuleSetText(JSON.stringify(doc, null, 2));
  if (result.ok) throw new Error('expected problems');
  return result.problems.map((p) => [p.pointer, p.message]);
}

const tokens = (model: string): RuleDefinition['conditions'] => ({ all: [{ fact: 'event', path: '$.dimensions.model', operator: 'equal', value: model }] });
const perUnit = (id: string, unitPrice: string, model: string): RuleDefinition => ({ name: id, conditions: tokens(model), event: { type: 'charge', params: { id, model: 'per_unit', unitPrice, per: '1000000' } } });

describe('cost books: validation', () => {
  it('accepts the shipped cost book, and a price rule set may still say everything a cost book may not', () => {
    const result = validateRuleSetText(shipped);
    expect(result.ok && result.compiled.purpose).toBe('cost');
    const price = ruleSet([always({ id: 'p', model: 'graduated', freeUnits: '10', tiers: [{ upTo: null, unitPrice: '1' }] })], { minimumSpend: '5', unmatched: 'free' });
    expect(price.purpose).toBe('price');
  });

  it('refuses what reads the period or refuses events, each at its JSON pointer', () => {
    const found = costProblems(
      [
        { name: 'retired', conditions: tokens('old'), event: { type: 'refuse', params: { code: 'RETIRED', message: 'no' } } },
        { name: 'tiers', conditions: tokens('a'), event: { type: 'charge', params: { id: 'a', model: 'graduated', tiers: [{ upTo: '10', unitPrice: '1' }, { upTo: null, unitPrice: '0.5' }] } } },
        { name: 'allowance', conditions: tokens('b'), event: { type: 'charge', params: { id: 'b', model: 'per_unit', unitPrice: '1', freeUnits: '100', counter: 'shared', counterBy: ['model'] } } },
        { name: 'free events', conditions: tokens('c'), event: { type: 'charge', params: { id: 'c', model: 'percentage', of: 'gpu', rate: '10', freeEvents: 3 } } },
        { name: 'capped', conditions: tokens('d'), event: { type: 'charge', params: { id: 'd', model: 'per_unit', unitPrice: '1', maximumSpend: '9' } } },
        { name: 'volume', conditions: { all: [{ fact: 'period', path: '$.quantity', operator: 'decimalGreaterThan', value: '5' }] }, event: { type: 'charge', params: { id: 'e', model: 'volume', tiers: [{ upTo: null, unitPrice: '1' }] } } },
        { name: 'package', conditions: tokens('f'), event: { type: 'charge', params: { id: 'f', model: 'package', size: '10', price: '1', rounding: 'up' } } },
      ],
      { minimumSpend: '1', maximumSpend: '2', unmatched: 'free' },
    );
    expect(found).toEqual(
      expect.arrayContaining([
        ['/minimumSpend', expect.stringMatching(/^is not allowed in a cost book: a cost book prices each event alone/)],
        ['/maximumSpend', expect.stringMatching(/^is not allowed in a cost book/)],
        ['/unmatched', expect.stringMatching(/^is not allowed in a cost book: an event no cost book prices has an unknown cost/)],
        ['/rules/0/event/type', expect.stringMatching(/^a cost book never refuses an event/)],
        ['/rules/1/event/params/model', 'a graduated charge is priced from a period counter; a cost book prices each event alone: use per_unit, percentage or cost_plus'],
        ['/rules/2/event/params/freeUnits', expect.stringMatching(/^is not allowed in a cost book/)],
        ['/rules/2/event/params/counter', expect.stringMatching(/^is not allowed in a cost book/)],
        ['/rules/2/event/params/counterBy', expect.stringMatching(/^is not allowed in a cost book/)],
        ['/rules/3/event/params/freeEvents', expect.stringMatching(/^is not allowed in a cost book: a cost book prices each event alone, without counting the period's events/)],
        ['/rules/4/event/params/maximumSpend', expect.stringMatching(/^is not allowed in a cost book/)],
        ['/rules/5/conditions/all/0/fact', "a cost book prices each event alone and cannot read the period's usage"],
        ['/rules/5/event/params/model', expect.stringMatching(/^a volume charge is priced from a period counter/)],
        ['/rules/6/event/params/model', expect.stringMatching(/^a package charge is priced from a period counter/)],
      ]),
    );
    expect(found).toHaveLength(13);
  });

  it('refuses a free amount on a percentage, and an unknown purpose through the schema', () => {
    expect(costProblems([{ name: 'p', conditions: tokens('a'), event: { type: 'charge', params: { id: 'p', model: 'percentage', of: 'gpu', rate: '10', freeAmount: '5' } } }])).toEqual([
      ['/rules/0/event/params/freeAmount', expect.stringMatching(/^is not allowed in a cost book/)],
    ]);
    expect(costProblems([perUnit('a', '1', 'a')], { purpose: 'margin' })).toEqual([['/purpose', 'must be one of "price", "cost"']]);
  });
});

describe('cost books: the cost of an event', () => {
  const books = [
    ruleSet([perUnit('gpt-in', '2', 'gpt'), perUnit('mini-in', '0.333', 'mini')], { key: 'tokens-costs', purpose: 'cost' }),
    ruleSet([{ name: 'gpu', conditions: tokens('gpt'), event: { type: 'charge', params: { id: 'gpu', model: 'cost_plus', of: 'gpuSeconds', markupPercent: '0' } } }], { key: 'gpu-costs', purpose: 'cost' }),
  ];
  const event = (model: string, quantity: string, values: Record<string, string> = {}, counters: Record<string, string> = {}) =>
    costRatingInput(input(quantity, counters, { dimensions: { model }, values: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, new Decimal(v)])) }));

  it('sums the lines of every cost book whose rules matched, and names them', async () => {
    const cost = await rateCost(books, event('gpt', '1500000', { gpuSeconds: '0.75' }), 'USD');
    expect(cost && { amount: cost.amount.toFixed(), units: cost.units, currency: cost.currency, source: cost.source, books: cost.books }).toEqual({
      amount: '3.75',
      units: 3_750_000_000n,
      currency: 'USD',
      source: 'BOOK',
      books: [
        { key: 'tokens-costs', version: 1 },
        { key: 'gpu-costs', version: 1 },
      ],
    });
  });

  it('keeps the exact amount and rounds it half-up to ledger units once', async () => {
    // 3 tokens at 0.333 per 1M: 0.000000999 exact; 1 token: 0.000000333, which rounds to 0 units.
    const three = await rateCost(books, event('mini', '3'), 'USD');
    expect([three?.amount.toFixed(), three?.units]).toEqual(['0.000000999', 999n]);
    const half = await rateCost(books, event('mini', '1.5'), 'USD');
    expect([half?.amount.toFixed(), half?.units]).toEqual(['0.0000004995', 500n]);
  });

  it('prices each event alone: period counters do not move its cost', async () => {
    const alone = await rateCost(books, event('mini', '1000000'), 'USD');
    const late = await rateCost(books, costRatingInput(input('1000000', { 'mini-in': '999999999', __period: '5' }, { dimensions: { model: 'mini' } })), 'USD');
    expect(late?.units).toBe(alone?.units);
    expect(alone?.units).toBe(333_000_000n);
  });

  it('takes the provider cost the event carries instead, in the event’s currency', async () => {
    const cost = await rateCost(books, event('gpt', '1000000', { providerCost: '0.812345678' }), 'CREDITS');
    expect(cost && { amount: cost.amount.toFixed(), units: cost.units, currency: cost.currency, source: cost.source, books: cost.books }).toEqual({
      amount: '0.812345678',
      units: 812_345_678n,
      currency: 'CREDITS',
      source: 'ACTUAL',
      books: [],
    });
  });

  it('is unknown, never zero, when no cost book matched, when a matching charge lacks its value, or when the books disagree on currency', async () => {
    expect(await rateCost(books, event('llama', '1000'), 'USD')).toBeNull();
    expect(await rateCost([], event('gpt', '1000'), 'USD')).toBeNull();
    // gpu-costs matches gpt but the event carries no gpuSeconds: the cost would be understated.
    expect(await rateCost(books, event('gpt', '1000'), 'USD')).toBeNull();
    const euro = ruleSet([perUnit('gpt-eu', '1', 'gpt')], { key: 'eu-costs', purpose: 'cost', currency: 'EUR' });
    expect(await rateCost([books[0]!, euro], event('gpt', '1000'), 'USD')).toBeNull();
    // A zero price is a cost: zero, known.
    const free = ruleSet([perUnit('gpt-free', '0', 'gpt')], { key: 'free-costs', purpose: 'cost' });
    expect((await rateCost([free], event('gpt', '1000'), 'USD'))?.units).toBe(0n);
  });

  it('finds the cost books in force at a time, and only them', () => {
    const v1 = ruleSet([perUnit('a', '1', 'a')], { key: 'c', purpose: 'cost' });
    const v2 = ruleSet([perUnit('a', '2', 'a')], { key: 'c', version: 2, purpose: 'cost', effectiveFrom: '2026-06-01T00:00:00Z' });
    const price = ruleSet([perUnit('a', '5', 'a')], { key: 'p' });
    const book = new RuleBook([v1, v2, price]);
    expect(book.costBooks(new Date('2025-12-31T00:00:00Z'))).toEqual([]);
    expect(book.costBooks(new Date('2026-03-01T00:00:00Z'))).toEqual([v1]);
    expect(book.costBooks(new Date('2026-07-01T00:00:00Z'))).toEqual([v2]);
    expect([book.isCostBook('c'), book.isCostBook('p'), book.isCostBook('x')]).toEqual([true, false, false]);
  });
});

describe('cost books: without waiting', () => {
  it('rates as rateCost does once the selections are memoised, and says when one is not', async () => {
    const book = ruleSet([perUnit('gpt-in', '2', 'gpt')], { key: 'warm-costs', purpose: 'cost' });
    const facts = costRatingInput(input('500000', {}, { dimensions: { model: 'gpt' } }));
    expect(rateCostIfWarm([book], facts, 'USD')).toBeUndefined();
    const waited = await rateCost([book], facts, 'USD');
    expect(rateCostIfWarm([book], facts, 'USD')).toEqual(waited);
    expect(waited?.units).toBe(1_000_000_000n);
    // The actual provider cost needs no book at all.
    const actual = costRatingInput(input('1', {}, { values: { providerCost: new Decimal('0.5') } }));
    expect(rateCostIfWarm([book], actual, 'USD')?.source).toBe('ACTUAL');
  });
});
