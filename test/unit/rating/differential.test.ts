import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { CompiledRuleSet } from '../../../src/rating/compile.js';
import { priceSelection, rateEvent } from '../../../src/rating/rate-event.js';
import { toSelectionFacts } from '../../../src/rating/selection.js';
import type { RatingInput, RuleDefinition } from '../../../src/rating/types.js';
import { validateRuleSetText } from '../../../src/rating/validate.js';
import { Decimal } from '../../../src/shared/money/decimal.js';
import { ruleSet } from './helpers.js';

/** A rule set that exercises every kind of condition the format allows. */
const mixedRules: RuleDefinition[] = [
  {
    name: 'big events on the pro plan',
    priority: 5,
    conditions: { all: [{ fact: 'plan', path: '$.code', operator: 'equal', value: 'pro' }, { fact: 'event', path: '$.quantity', operator: 'decimalGreaterThanInclusive', value: '5000' }] },
    event: { type: 'charge', params: { id: 'pro-big', model: 'graduated', tiers: [{ upTo: '10000', unitPrice: '0.001' }, { upTo: null, unitPrice: '0.0008' }] } },
  },
  {
    name: 'small events',
    conditions: { any: [{ fact: 'event', path: '$.quantity', operator: 'decimalLessThan', value: '5000' }, { not: { fact: 'plan', path: '$.code', operator: 'equal', value: 'pro' } }] },
    event: { type: 'charge', params: { id: 'small', model: 'per_unit', unitPrice: '0.0012' } },
  },
  {
    name: 'region surcharge',
    conditions: { all: [{ fact: 'event', path: '$.dimensions.region', operator: 'in', value: ['eu', 'ap'] }] },
    event: { type: 'adjustment', params: { id: 'region', kind: 'markup', percent: '7.5' } },
  },
  {
    name: 'partner discount',
    conditions: { all: [{ fact: 'customer', path: '$.metadata.partner', operator: 'equal', value: 'yes' }, { fact: 'customer', path: '$.metadata.tier', operator: 'notIn', value: ['free'] }] },
    event: { type: 'adjustment', params: { id: 'partner', kind: 'discount', percent: '15' } },
  },
  {
    name: 'costly calls',
    conditions: { all: [{ fact: 'event', path: '$.values.providerCost', operator: 'decimalGreaterThan', value: '0.5' }] },
    event: { type: 'charge', params: { id: 'cost', model: 'cost_plus', of: 'providerCost', markupPercent: '20' } },
  },
  {
    name: 'late in the month',
    conditions: { all: [{ fact: 'period', path: '$.quantity', operator: 'decimalGreaterThan', value: '100000' }, { fact: 'period', path: '$.quantity', operator: 'decimalLessThanInclusive', value: '200000' }] },
    event: { type: 'adjustment', params: { id: 'late', kind: 'multiplier', factor: '0.9' } },
  },
  {
    name: 'blocked region',
    priority: 50,
    conditions: { all: [{ fact: 'event', path: '$.dimensions.region', operator: 'equal', value: 'blocked' }, { fact: 'event', path: '$.dimensions.model', operator: 'notEqual', value: 'allowed' }] },
    event: { type: 'refuse', params: { code: 'REGION_BLOCKED', message: 'not served there' } },
  },
];

function random(seed: number) {
  let x = seed;
  return () => ((x = (x * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648);
}
const pick = <T>(next: () => number, items: readonly T[]): T => items[Math.floor(next() * items.length)]!;

function randomEvent(next: () => number, meter: string, dims: Record<string, readonly string[]>): RatingInput {
  const dimensions: Record<string, string> = {};
  for (const [k, values] of Object.entries(dims)) if (next() < 0.9) dimensions[k] = pick(next, values);
  const values: Record<string, Decimal> = next() < 0.5 ? { providerCost: new Decimal(Math.floor(next() * 1_000_000)).div(1_000_000) } : {};
  const period = new Decimal(next() < 0.5 ? Math.floor(next() * 20) : Math.floor(next() * 250_000));
  return {
    event: { meter: pick(next, [meter, meter, meter, 'other']), quantity: new Decimal(Math.floor(next() * 20_000) + 1), timestamp: new Date('2026-03-02T00:00:00Z'), dimensions, values },
    customer: { id: 'c', externalId: 'e', metadata: next() < 0.3 ? {} : { partner: pick(next, ['yes', 'no']), tier: pick(next, ['free', 'gold']) } },
    plan: next() < 0.2 ? null : { code: pick(next, ['pro', 'basic']), version: 1 },
    period: { quantity: period, counters: { get: () => period } },
  };
}

const fingerprint = (r: Awaited<ReturnType<typeof rateEvent>>) =>
  JSON.stringify({ fired: r.firedRules, refusal: r.refusal, units: r.units.toString(), lines: r.lines.map((l) => [l.componentId, l.amount.toFixed(), l.units.toString()]) });

/** Runs n random events through the memoised path and through plain engine.run; counts mismatches. */
async function differential(rs: CompiledRuleSet, n: number, seed: number, meter: string, dims: Record<string, readonly string[]>) {
  const next = random(seed);
  let mismatches = 0;
  for (let i = 0; i < n; i++) {
    const input = randomEvent(next, meter, dims);
    const plainFired = await rs.selector.run(toSelectionFacts(input));
    const fast = await rateEvent(rs, input);
    const plain = priceSelection(rs, input, { fired: plainFired, periodValidity: fast.periodValidity });
    if (fingerprint(fast) !== fingerprint(plain)) mismatches++;
  }
  return mismatches;
}

const shipped = (file: string) => {
  const result = validateRuleSetText(readFileSync(new URL(`../../../rules/${file}`, import.meta.url), 'utf8'));
  if (!result.ok) throw new Error(file);
  return result.compiled;
};

describe('memoised selection is identical to plain engine.run', () => {
  it('on 60,000 random events against a rule set using every kind of condition', { timeout: 120_000 }, async () => {
    const rs = ruleSet(mixedRules);
    expect(await differential(rs, 60_000, 1, 'tokens', { region: ['us', 'eu', 'ap', 'blocked'], model: ['allowed', 'other'] })).toBe(0);
  });

  it('on 20,000 random events against the shipped AI price book', { timeout: 60_000 }, async () => {
    const models = ['gpt-4o', 'gpt-4o-mini', 'claude-sonnet-4', 'claude-haiku-4', 'gemini-2.5-flash', 'llama-3.1-405b', 'gpt-3.5-turbo', 'unknown'];
    expect(await differential(shipped('ai-price-book/v1.json'), 20_000, 2, 'llm_tokens', { model: models, tokenType: ['input', 'output'] })).toBe(0);
  });

  it('on 20,000 random events against the shipped image credits', { timeout: 60_000 }, async () => {
    const rs = shipped('image-credits/v1.json');
    expect(await differential(rs, 20_000, 3, 'images', { size: ['512x512', '1024x1024', '1792x1024', '256x256'], quality: ['standard', 'hd'] })).toBe(0);
  });
});
