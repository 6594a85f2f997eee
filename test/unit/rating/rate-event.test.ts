import { describe, expect, it } from 'vitest';
import { rateAggregate } from '../../../src/rating/rate-aggregate.js';
import { rateEvent } from '../../../src/rating/rate-event.js';
import type { ChargeParams } from '../../../src/rating/types.js';
import { Decimal } from '../../../src/shared/money/decimal.js';
import { always, input, ruleSet } from './helpers.js';

const graduated: ChargeParams = {
  id: 'g',
  model: 'graduated',
  tiers: [
    { upTo: '1000', unitPrice: '0.0000000333', flatFee: '0.1' },
    { upTo: '5000', unitPrice: '0.0000000111' },
    { upTo: null, unitPrice: '0.0000000037', flatFee: '0.05' },
  ],
};

describe('event rating', () => {
  it('charges the first tier flat fee with the first unit of the period', async () => {
    const rs = ruleSet([always(graduated)]);
    const first = await rateEvent(rs, input('10'));
    const second = await rateEvent(rs, input('10', { g: '10' }));
    expect(first.lines[0]!.tiers[0]!.flatFee.toFixed()).toBe('0.1');
    expect(second.lines[0]!.tiers[0]!.flatFee.toFixed()).toBe('0');
  });

  it('refuses with the code of a refusal rule, and charges nothing', async () => {
    const rs = ruleSet([
      always(graduated),
      { name: 'no big events', priority: 10, conditions: { all: [{ fact: 'event', path: '$.quantity', operator: 'decimalGreaterThan', value: '1000000' }] }, event: { type: 'refuse', params: { code: 'TOO_BIG', message: 'split it' } } },
    ]);
    const r = await rateEvent(rs, input('1000001'));
    expect(r.refusal).toEqual({ code: 'TOO_BIG', message: 'split it', rule: 'no big events', source: 'rule' });
    expect(r.units).toBe(0n);
    expect((await rateEvent(rs, input('1000000'))).refusal).toBeNull();
  });

  it('refuses an event that lacks the value a charge needs', async () => {
    const rs = ruleSet([always({ id: 'cp', model: 'cost_plus', of: 'providerCost', markupPercent: '10' })]);
    expect((await rateEvent(rs, input('1'))).refusal?.code).toBe('VALUE_MISSING');
    expect((await rateEvent(rs, input('1', {}, { values: { providerCost: new Decimal('2') } }))).amount.toFixed()).toBe('2.2');
  });

  it('applies markups, discounts and multipliers to the charges they name', async () => {
    const rs = ruleSet([
      always({ id: 'a', model: 'per_unit', unitPrice: '1' }, 'a'),
      always({ id: 'b', model: 'per_unit', unitPrice: '1' }, 'b'),
      { name: 'markup', conditions: { all: [] }, event: { type: 'adjustment', params: { id: 'm', kind: 'markup', percent: '10', appliesTo: ['a'] } } },
      { name: 'discount', conditions: { all: [] }, event: { type: 'adjustment', params: { id: 'd', kind: 'discount', percent: '50' } } },
    ]);
    const r = await rateEvent(rs, input('100'));
    expect(r.lines.map((l) => [l.componentId, l.amount.toFixed(), l.adjustments.map((a) => a.id)])).toEqual([
      ['a', '55', ['m', 'd']],
      ['b', '50', ['d']],
    ]);
  });

  it('keeps a counter per dimension value when asked, and shares named counters', async () => {
    const rs = ruleSet([always({ id: 'a', model: 'per_unit', unitPrice: '1', counter: 'shared', counterBy: ['model'] })]);
    const r = await rateEvent(rs, input('5', { 'shared|model=x': '7' }, { dimensions: { model: 'x' } }));
    expect(r.lines[0]!.counter).toMatchObject({ key: 'shared|model=x' });
    expect(r.lines[0]!.counter!.before.toFixed()).toBe('7');
  });

  it('selects by decimal comparisons of period facts and says for which period quantities', async () => {
    const rs = ruleSet([
      always({ id: 'a', model: 'per_unit', unitPrice: '1' }),
      { name: 'bulk', conditions: { all: [{ fact: 'period', path: '$.quantity', operator: 'decimalGreaterThanInclusive', value: '1000' }] }, event: { type: 'adjustment', params: { id: 'bulk', kind: 'discount', percent: '20' } } },
    ]);
    const below = await rateEvent(rs, input('10', { __period: '999.999999999' }));
    const above = await rateEvent(rs, input('10', { __period: '1000' }));
    expect(below.amount.toFixed()).toBe('10');
    expect(above.amount.toFixed()).toBe('8');
    expect(below.periodValidity).toEqual({ from: new Decimal(0), to: new Decimal('999.999999999') });
    expect(above.periodValidity).toEqual({ from: new Decimal(1000), to: null });
  });

  it('names the rule set version and hash it used', async () => {
    const rs = ruleSet([always(graduated)], { version: 7 });
    const r = await rateEvent(rs, input('1'));
    expect(r.ruleSet).toEqual({ key: 'test', version: 7, hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(r.firedRules).toEqual(['charge']);
  });
});
