import { describe, expect, it } from 'vitest';
import { rateAggregate } from '../../../src/rating/rate-aggregate.js';
import { rateEvent } from '../../../src/rating/rate-event.js';
import type { ChargeParams, EventRating } from '../../../src/rating/types.js';
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

/** A deterministic stream of pseudo-random numbers. */
function random(seed: number) {
  let x = seed;
  return () => ((x = (x * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648);
}

/** Rates a period event by event, feeding each event the counter the previous one left. */
async function ratePeriod(rs: ReturnType<typeof ruleSet>, quantities: Decimal[], key: string) {
  let counter = new Decimal(0);
  let units = 0n;
  let amount = new Decimal(0);
  for (const q of quantities) {
    const r = await rateEvent(rs, input(q.toFixed(), { [key]: counter.toFixed() }));
    units += r.units;
    amount = amount.plus(r.amount);
    counter = counter.plus(q);
  }
  return { units, amount, total: counter };
}

describe('per-event and aggregate rating agree', () => {
  for (const [name, params] of [
    ['graduated with flat fees and prices finer than the ledger scale', graduated],
    ['per-unit with an inexact price and an allowance', { id: 'g', model: 'per_unit', unitPrice: '0.00000000777', freeUnits: '333.5' } as ChargeParams],
    ['packages', { id: 'g', model: 'package', size: '250', price: '0.013' } as ChargeParams],
  ] as const) {
    it(`to the last ledger unit: ${name}`, async () => {
      const rs = ruleSet([always(params)]);
      const next = random(params.model.length);
      for (let round = 0; round < 20; round++) {
        const quantities = Array.from({ length: 40 }, () => new Decimal(Math.floor(next() * 600_000)).div(1000).plus('0.001'));
        const period = await ratePeriod(rs, quantities, 'g');
        const aggregate = await rateAggregate(rs, { ...input(period.total.toFixed()), events: quantities.length });
        expect(period.units).toBe(aggregate.lines[0]!.units);
        expect(period.amount.toFixed()).toBe(aggregate.lines[0]!.amount!.toFixed());
      }
    });
  }
});

/** A rating's observable result, for comparing two ratings. */
const fingerprint = (r: EventRating) =>
  JSON.stringify({
    units: r.units.toString(),
    amount: r.amount.toFixed(),
    lines: r.lines.map((l) => ({ id: l.componentId, units: l.units.toString(), amount: l.amount.toFixed(), tiers: l.tiers.map((t) => [t.tier, t.quantity.toFixed(), t.amount.toFixed()]) })),
  });

describe('validity ranges', () => {
  const charges: Array<[string, ChargeParams]> = [
    ['graduated', { id: 'g', model: 'graduated', tiers: [{ upTo: '1000', unitPrice: '0.002', flatFee: '1' }, { upTo: '5000', unitPrice: '0.001' }, { upTo: null, unitPrice: '0.0005', flatFee: '3' }] }],
    ['graduated with an inexact price', graduated],
    ['per-unit with allowance', { id: 'g', model: 'per_unit', unitPrice: '0.003', freeUnits: '1000' }],
    ['volume', { id: 'g', model: 'volume', tiers: [{ upTo: '1000', unitPrice: '0.002' }, { upTo: null, unitPrice: '0.001', flatFee: '2' }] }],
    ['package rounding up', { id: 'g', model: 'package', size: '5000', price: '1' }],
    ['package rounding down', { id: 'g', model: 'package', size: '5000', price: '1', rounding: 'down' }],
  ];
  for (const [name, params] of charges) {
    it(`hold for every counter value inside them: ${name}`, async () => {
      const rs = ruleSet([always(params)]);
      const next = random(name.length * 7);
      let wide = 0;
      for (let i = 0; i < 300; i++) {
        const c = new Decimal(Math.floor(next() * 8000));
        const q = new Decimal(Math.floor(next() * 500) + 1);
        const base = await rateEvent(rs, input(q.toFixed(), { g: c.toFixed() }));
        const counter = base.lines[0]!.counter!;
        expect(counter.validFrom.lessThanOrEqualTo(c)).toBe(true);
        expect(counter.validTo === null || counter.validTo.greaterThanOrEqualTo(c)).toBe(true);
        if (!counter.validFrom.equals(counter.validTo ?? -1)) wide++;
        const top = counter.validTo ?? counter.validFrom.plus(10_000);
        for (const probe of [counter.validFrom, top, counter.validFrom.plus(top).div(2).floor()]) {
          const other = await rateEvent(rs, input(q.toFixed(), { g: probe.toFixed() }));
          expect(fingerprint(other)).toBe(fingerprint(base));
        }
      }
      // Most events stay inside a tier or package, so most results hold for a range of counters.
      if (name !== 'graduated with an inexact price') expect(wide).toBeGreaterThan(100);
    });
  }
});

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
