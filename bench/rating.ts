/**
 * Rating speed: plain json-rules-engine `engine.run` against the project's rating (memoised
 * selection plus exact pricing) on the same rule set and the same events, in one run.
 *
 *   npm run bench:rating
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { rateEvent, rateEventIfWarm } from '../src/rating/rate-event.js';
import { toSelectionFacts } from '../src/rating/selection.js';
import type { RatingInput } from '../src/rating/types.js';
import { validateRuleSetText } from '../src/rating/validate.js';
import { Decimal } from '../src/shared/money/decimal.js';

const file = new URL('../../rules/ai-price-book/v1.json', import.meta.url);
const result = validateRuleSetText(readFileSync(file, 'utf8'));
if (!result.ok) throw new Error('the price book does not validate');
const ruleSet = result.compiled;

const models = ['gpt-4o', 'gpt-4o-mini', 'claude-sonnet-4', 'claude-haiku-4', 'gemini-2.5-flash'];
let seed = 42;
const next = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648);
const events: RatingInput[] = Array.from({ length: 10_000 }, () => {
  const before = new Decimal(Math.floor(next() * 50_000_000));
  return {
    event: {
      meter: 'llm_tokens',
      quantity: new Decimal(Math.floor(next() * 4000) + 1),
      timestamp: new Date('2026-03-01T00:00:00Z'),
      dimensions: { model: models[Math.floor(next() * models.length)]!, tokenType: next() < 0.5 ? 'input' : 'output' },
      values: {},
    },
    customer: { id: 'c', externalId: 'e', metadata: (next() < 0.1 ? { tier: 'enterprise' } : {}) as Record<string, string> },
    plan: { code: 'pro', version: 1 },
    period: { quantity: before, counters: { get: () => before } },
  };
});
const facts = events.map(toSelectionFacts);

async function timed(n: number, fn: (i: number) => Promise<unknown>): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < n; i++) await fn(i % events.length);
  return n / ((performance.now() - start) / 1000);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const engine = (ruleSet.selector as unknown as { engine: { run(f: unknown): Promise<unknown> } }).engine;
// Warm both paths (JIT, and the selection memo for ours).
await timed(5_000, (i) => engine.run(facts[i]));
await timed(20_000, (i) => rateEvent(ruleSet, events[i]!));

function timedSync(n: number, fn: (i: number) => unknown): number {
  const start = performance.now();
  for (let i = 0; i < n; i++) fn(i % events.length);
  return n / ((performance.now() - start) / 1000);
}

const plain: number[] = [];
const ours: number[] = [];
const oursSync: number[] = [];
for (let round = 0; round < 5; round++) {
  plain.push(await timed(10_000, (i) => engine.run(facts[i])));
  ours.push(await timed(200_000, (i) => rateEvent(ruleSet, events[i]!)));
  oursSync.push(timedSync(200_000, (i) => rateEventIfWarm(ruleSet, events[i]!)));
}
const p = median(plain);
const o = median(ours);
const w = median(oursSync);
console.log(`rule set: ai-price-book v1 (${ruleSet.definition.rules.length} rules), ${events.length} distinct events`);
console.log(`plain engine.run:         ${Math.round(p).toLocaleString('en-US')} evaluations/s (${(1e6 / p).toFixed(1)} µs each)`);
console.log(`rateEvent (select+price): ${Math.round(o).toLocaleString('en-US')} evaluations/s (${(1e6 / o).toFixed(1)} µs each)`);
console.log(`rateEventIfWarm (sync):   ${Math.round(w).toLocaleString('en-US')} evaluations/s (${(1e6 / w).toFixed(1)} µs each)`);
console.log(`ratio rateEvent / plain:  ${(o / p).toFixed(1)}x   (median of 5 rounds)`);
console.log(`ratio sync / plain:       ${(w / p).toFixed(1)}x`);
