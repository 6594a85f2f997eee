import { describe, expect, it } from 'vitest';
import { rateAggregate } from '../../../src/rating/rate-aggregate.js';
import { rateEvent } from '../../../src/rating/rate-event.js';
import type { MeterFacts, RatingInput } from '../../../src/rating/types.js';
import { validateRuleSetText } from '../../../src/rating/validate.js';
import { Decimal } from '../../../src/shared/money/decimal.js';
import { always, input, ruleSet } from './helpers.js';

const perUnit = ruleSet([always({ id: 'u', model: 'per_unit', unitPrice: '0.5' })]);
const graduated = ruleSet([always({ id: 'g', model: 'graduated', tiers: [{ upTo: '10', unitPrice: '1' }, { upTo: null, unitPrice: '0.5' }] })]);

/** Rates a sequence of events of one meter, each seeing the counters the events before it leave. */
async function rateSequence(rs: typeof perUnit, meter: MeterFacts['aggregation'], events: Array<{ q: string; value?: string }>) {
  const counters = new Map<string, Decimal>();
  let meterQuantity = new Decimal(0);
  const out = [];
  for (const e of events) {
    const base = input(e.q);
    const rated = await rateEvent(rs, {
      ...base,
      period: { quantity: meterQuantity, counters: { get: (k) => counters.get(k) } },
      meter: e.value === undefined ? { aggregation: meter } : { aggregation: meter, distinctValue: e.value },
    } as RatingInput);
    for (const l of rated.lines) if (l.counter) counters.set(l.counter.key, l.counter.before.plus(l.counter.delta));
    for (const m of rated.marks) counters.set(m.key, m.before.plus(m.delta));
    meterQuantity = meterQuantity.plus(rated.meterAdvance.delta);
    out.push(rated);
  }
  return { out, counters, meterQuantity };
}

describe('events that no charge prices', () => {
  const modelOnly = ruleSet([
    {
      name: 'gpt-4o',
      conditions: { all: [{ fact: 'event', path: '$.dimensions.model', operator: 'equal', value: 'gpt-4o' }] },
      event: { type: 'charge', params: { id: 'g', model: 'per_unit', unitPrice: '1' } },
    },
    { name: 'vip', conditions: { all: [{ fact: 'customer', path: '$.metadata.tier', operator: 'equal', value: 'vip' }] }, event: { type: 'adjustment', params: { id: 'vip', kind: 'discount', percent: '10' } } },
  ]);

  it('are refused with UNPRICED_EVENT by default, even when an adjustment fired', async () => {
    const r = await rateEvent(modelOnly, input('5', {}, { dimensions: { model: 'gpt-5' } }));
    expect(r.refusal).toEqual({ code: 'UNPRICED_EVENT', source: 'unpriced', rule: '', message: 'no charge of rule set test v1 prices this event (meter tokens, dimensions model="gpt-5")' });
    expect(r.units).toBe(0n);
    const vip = await rateEvent(modelOnly, { ...input('5'), customer: { id: 'c', externalId: 'e', metadata: { tier: 'vip' } } });
    expect(vip.refusal?.message).toMatch(/meter tokens, no dimensions\)$/);
  });

  it('are accepted at zero when the rule set says unmatched: free', async () => {
    const free = ruleSet(modelOnly.definition.rules, { unmatched: 'free' });
    const r = await rateEvent(free, input('5', {}, { dimensions: { model: 'gpt-5' } }));
    expect(r).toMatchObject({ refusal: null, lines: [], units: 0n });
  });

  it('are refused in aggregate ratings too', async () => {
    const r = await rateAggregate(modelOnly, { ...input('5', {}, { dimensions: { model: 'gpt-5' } }), events: 2 });
    expect(r.refusal?.code).toBe('UNPRICED_EVENT');
  });

  it('do not include a charge that prices to zero', async () => {
    const zero = ruleSet([always({ id: 'z', model: 'per_unit', unitPrice: '0' })]);
    expect((await rateEvent(zero, input('5'))).refusal).toBeNull();
  });
});

describe('meters priced by their aggregation', () => {
  it('MAX: each event is charged the rise of the maximum, nothing when it does not raise it; the rise holds only at the exact maximum', async () => {
    const { out, meterQuantity } = await rateSequence(graduated, 'MAX', [{ q: '4' }, { q: '12' }, { q: '7' }, { q: '12' }, { q: '15' }]);
    expect(out.map((r) => r.amount.toFixed())).toEqual(['4', '7', '0', '0', '1.5']);
    // H(15) = 10 × 1 + 5 × 0.5: the rises add up to the period's maximum priced once.
    expect(out.reduce((s, r) => s.plus(r.amount), new Decimal(0)).toFixed()).toBe('12.5');
    expect(meterQuantity.toFixed()).toBe('15');
    expect(out[1]!.lines[0]!.counter).toMatchObject({ validFrom: new Decimal(4), validTo: new Decimal(4) });
    expect(out[2]!.lines[0]!.counter).toMatchObject({ validFrom: new Decimal(7), validTo: null });
    expect(out[1]!.meterAdvance).toMatchObject({ delta: new Decimal(8), validFrom: new Decimal(4), validTo: new Decimal(4) });
    expect(out[2]!.meterAdvance).toMatchObject({ delta: new Decimal(0), validFrom: new Decimal(7), validTo: null });
  });

  it('UNIQUE_COUNT: an event is charged one unit when its value is first seen in the period, and marks it seen', async () => {
    const { out, counters } = await rateSequence(perUnit, 'UNIQUE_COUNT', ['ann', 'bob', 'ann', 'cat', 'bob'].map((value) => ({ q: '1', value })));
    expect(out.map((r) => r.amount.toFixed())).toEqual(['0.5', '0.5', '0', '0.5', '0']);
    expect(counters.get('u')?.toFixed()).toBe('3');
    expect(out[0]!.marks).toEqual([{ key: 'seen:tokens|ann', before: new Decimal(0), delta: new Decimal(1), validFrom: new Decimal(0), validTo: new Decimal(0) }]);
    expect(out[2]!.marks[0]).toMatchObject({ before: new Decimal(1), delta: new Decimal(0) });
  });

  it('UNIQUE_COUNT without the counted value is refused', async () => {
    const r = await rateEvent(perUnit, { ...input('1'), meter: { aggregation: 'UNIQUE_COUNT' } });
    expect(r.refusal?.code).toBe('VALUE_MISSING');
  });

  it('LATEST: charged per event like the maximum, provisionally', async () => {
    const { out } = await rateSequence(perUnit, 'LATEST', [{ q: '10' }, { q: '12' }, { q: '9' }]);
    expect(out.map((r) => r.amount.toFixed())).toEqual(['5', '1', '0']);
    expect(out.every((r) => r.lines[0]!.provisional)).toBe(true);
  });

  it('SUM and COUNT add every event, as before', async () => {
    const { out } = await rateSequence(graduated, 'SUM', [{ q: '4' }, { q: '12' }]);
    expect(out.map((r) => r.amount.toFixed())).toEqual(['4', '9']);
  });
});

describe('aggregate rating of percentage charges', () => {
  const fee = ruleSet([always({ id: 'p', model: 'percentage', of: 'amount', rate: '2', fixedFee: '0.3', freeEvents: 10 })]);
  const total = async (events: number, amount: string) =>
    (await rateAggregate(fee, { ...input('1', {}, { values: { amount: new Decimal(amount) } }), events })).lines[0]!;

  it('charges nothing for a period within its free events, rate included', async () => {
    // Before: the rate applied to the free events' value (2% of 500 = 10).
    expect(await total(10, '500')).toMatchObject({ amount: new Decimal(0), estimated: false });
  });

  it('charges the paying events: their fees exactly, their share of the value taken as even', async () => {
    // 40 events carrying 1,000: 30 pay; 2% of 750 + 30 × 0.3.
    expect(await total(40, '1000')).toMatchObject({ amount: new Decimal('24'), estimated: true });
  });

  it('without free events is exact', async () => {
    const plain = ruleSet([always({ id: 'p', model: 'percentage', of: 'amount', rate: '2', fixedFee: '0.3' })]);
    const line = (await rateAggregate(plain, { ...input('1', {}, { values: { amount: new Decimal('1000') } }), events: 40 })).lines[0]!;
    expect(line).toMatchObject({ amount: new Decimal('32'), estimated: false });
  });
});

describe('descriptions that state figures', () => {
  const file = (description: string, params: Record<string, unknown> = { model: 'per_unit', unitPrice: '10', per: '1000000' }) =>
    JSON.stringify({ key: 'k', version: 1, effectiveFrom: '2026-01-01T00:00:00Z', currency: 'USD', rules: [{ name: 'r', conditions: { all: [] }, event: { type: 'charge', params: { id: 'c', description, ...params } } }] });

  it('are accepted when every figure is the rule’s own: price per unit or per `per`, tier bounds, tier discounts', () => {
    expect(validateRuleSetText(file('gpt-4o output, $10.00 per 1M tokens')).ok).toBe(true);
    expect(validateRuleSetText(file('$0.00001 per token')).ok).toBe(true);
    expect(validateRuleSetText(file('gpt-4o (per 1M: 2.5; 10% off from 10M)', { model: 'graduated', per: '1000000', tiers: [{ upTo: '10000000', unitPrice: '2.5' }, { upTo: null, unitPrice: '2.25' }] })).ok).toBe(true);
    expect(validateRuleSetText(file('claude-sonnet-4 and llama-3.1-405b, 1024x1024, from 2026-07-01')).ok).toBe(true);
  });

  it('are refused when a figure disagrees with the price, with the place and the figure', () => {
    const r = validateRuleSetText(file('gpt-4o output, $12.00 per 1M tokens'));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problems).toEqual([expect.objectContaining({ pointer: '/rules/0/event/params/description', message: expect.stringMatching(/^states "12.00", which is not a figure of this charge/) })]);
    expect(validateRuleSetText(file('10% off', { model: 'per_unit', unitPrice: '1' })).ok).toBe(false);
  });
});
