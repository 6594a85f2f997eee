import { describe, expect, it } from 'vitest';
import { costPlus } from '../../../src/rating/charge-models/cost-plus.js';
import { packageRange, packageTotal } from '../../../src/rating/charge-models/package.js';
import { percentageOfEvent } from '../../../src/rating/charge-models/percentage.js';
import { perUnitRange } from '../../../src/rating/charge-models/per-unit.js';
import { buildTiers, graduatedRange, graduatedTotal } from '../../../src/rating/charge-models/tiers.js';
import { volumeProvisional, volumeTotal } from '../../../src/rating/charge-models/volume.js';
import { rateAggregate } from '../../../src/rating/rate-aggregate.js';
import { rateEvent } from '../../../src/rating/rate-event.js';
import type { ChargeParams, EventRating } from '../../../src/rating/types.js';
import { Decimal } from '../../../src/shared/money/decimal.js';
import { always, input, ruleSet } from './helpers.js';

const d = (x: string | number) => new Decimal(x);
const s = (x: Decimal) => x.toFixed();

// 0-100 at 1.00 (+5 flat), 101-1000 at 0.50 (+10 flat), above at 0.25 (+0)
const tiers = buildTiers([
  { upTo: d(100), unitPrice: d('1.00'), flatFee: d(5) },
  { upTo: d(1000), unitPrice: d('0.50'), flatFee: d(10) },
  { upTo: null, unitPrice: d('0.25'), flatFee: d(0) },
]);

describe('per-unit', () => {
  it('prices every unit alike, decimals included', () => {
    expect(s(perUnitRange(d('0.0000025'), d(0), d(1000)).amount)).toBe('0.0025');
    expect(s(perUnitRange(d('0.0000025'), d(5), d('5.5')).amount)).toBe('0.00000125');
    expect(s(perUnitRange(d('3'), d(7), d(7)).amount)).toBe('0');
  });
});

describe('graduated', () => {
  it.each([
    // [from, to, amount, [tier, quantity, flat]]
    ['0', '1', '6', [[1, '1', '5']]],
    ['0', '100', '105', [[1, '100', '5']]],
    ['100', '101', '10.5', [[2, '1', '10']]],
    ['50', '150', '85', [[1, '50', '0'], [2, '50', '10']]],
    ['99.5', '100.5', '10.75', [[1, '0.5', '0'], [2, '0.5', '10']]],
    ['0', '2000', '105+460+250', [[1, '100', '5'], [2, '900', '10'], [3, '1000', '0']]],
    ['1000', '1001', '0.25', [[3, '1', '0']]],
    ['500', '600', '50', [[2, '100', '0']]],
  ])('prices (%s, %s]', (from, to, amount, parts) => {
    const r = graduatedRange(tiers, d(from as string), d(to as string));
    const expected = (amount as string).split('+').reduce((a, b) => a.plus(b), d(0));
    expect(s(r.amount)).toBe(s(expected));
    expect(r.parts.map((p) => [p.tier, s(p.quantity), s(p.flatFee)])).toEqual(parts);
    expect(s(r.parts.reduce((a, p) => a.plus(p.amount), d(0)))).toBe(s(r.amount));
  });

  it('charges the first tier flat fee at zero usage on the aggregate', () => {
    expect(s(graduatedTotal(tiers, d(0)).amount)).toBe('5');
    expect(graduatedTotal(tiers, d(0)).parts).toHaveLength(1);
    expect(s(graduatedTotal(tiers, d(150)).amount)).toBe(s(d(105).plus(25).plus(10)));
  });

  it('adds per-event ranges up to the aggregate, across boundaries and fractions', () => {
    const cuts = ['0', '0.5', '99.999', '100', '100.000001', '640', '1000', '1000.5', '4321.123456'];
    let sum = d(0);
    for (let i = 1; i < cuts.length; i++) sum = sum.plus(graduatedRange(tiers, d(cuts[i - 1]!), d(cuts[i]!)).amount);
    expect(s(sum)).toBe(s(graduatedTotal(tiers, d(cuts.at(-1)!)).amount));
  });
});

describe('volume', () => {
  it('prices all units at the tier of the total, plus that tier flat fee', () => {
    expect(s(volumeTotal(tiers, d(100)).amount)).toBe('105');
    expect(s(volumeTotal(tiers, d(101)).amount)).toBe(s(d('50.5').plus(10)));
    expect(s(volumeTotal(tiers, d(2000)).amount)).toBe('500');
    expect(s(volumeTotal(tiers, d(0)).amount)).toBe('5');
  });

  it('charges events provisionally at the price of the tier they end in, without flat fees', () => {
    const r = volumeProvisional(tiers, d(90), d(110));
    expect(s(r.amount)).toBe('10');
    expect(r.parts.map((p) => [p.tier, s(p.flatFee)])).toEqual([[2, '0']]);
  });
});

describe('package', () => {
  const p = { size: d(1000), price: d('2.50'), rounding: 'up' as const };
  it('rounds up to whole packages', () => {
    expect(s(packageTotal(p, d(0)).amount)).toBe('0');
    expect(s(packageTotal(p, d(1)).amount)).toBe('2.5');
    expect(s(packageTotal(p, d(1000)).amount)).toBe('2.5');
    expect(s(packageTotal(p, d(1001)).amount)).toBe('5');
  });
  it('rounds down when asked', () => {
    const down = { ...p, rounding: 'down' as const };
    expect(s(packageTotal(down, d(999)).amount)).toBe('0');
    expect(s(packageTotal(down, d(2500)).amount)).toBe('5');
  });
  it('charges a package when an event enters it, so events add up to the aggregate', () => {
    expect(s(packageRange(p, d(0), d(1)).amount)).toBe('2.5');
    expect(s(packageRange(p, d(1), d(1000)).amount)).toBe('0');
    expect(s(packageRange(p, d(999), d(2001)).amount)).toBe('5');
    const sum = packageRange(p, d(0), d(1)).amount.plus(packageRange(p, d(1), d(999)).amount).plus(packageRange(p, d(999), d(2001)).amount);
    expect(s(sum)).toBe(s(packageTotal(p, d(2001)).amount));
  });
});

describe('percentage', () => {
  const p = { rate: d('2.9'), fixedFee: d('0.30'), freeEvents: 2, minPerEvent: d('0.50'), maxPerEvent: d('10') };
  it('takes the rate of the carried amount plus a fixed fee', () => {
    expect(s(percentageOfEvent(p, d(100), 5).amount)).toBe('3.2');
  });
  it('leaves the first events free', () => {
    expect(s(percentageOfEvent(p, d(100), 0).amount)).toBe('0');
    expect(s(percentageOfEvent(p, d(100), 1).amount)).toBe('0');
  });
  it('clamps to the per-event minimum and maximum', () => {
    expect(s(percentageOfEvent(p, d(1), 5).amount)).toBe('0.5');
    expect(s(percentageOfEvent(p, d(1000), 5).amount)).toBe('10');
  });
});

describe('graduated percentage', () => {
  const rates = buildTiers([
    { upTo: d(1000), unitPrice: d('0.03'), flatFee: d(0) },
    { upTo: null, unitPrice: d('0.02'), flatFee: d(0) },
  ]);
  it('applies each tier rate to the part of the period amount in it', () => {
    expect(s(graduatedRange(rates, d(900), d(1100)).amount)).toBe('5');
  });
});

describe('cost-plus', () => {
  it('adds the markup to the provider cost', () => {
    expect(s(costPlus(d('0.012'), d(25)).amount)).toBe('0.015');
    expect(s(costPlus(d('0.000000007'), d('33.3')).amount)).toBe('0.000000009331');
  });
});

// Every model's per-event ratings, against its aggregate and across its validity ranges: a new model adds its rows here.
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

