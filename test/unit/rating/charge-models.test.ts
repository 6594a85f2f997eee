import { describe, expect, it } from 'vitest';
import { costPlus } from '../../../src/rating/charge-models/cost-plus.js';
import { packageRange, packageTotal } from '../../../src/rating/charge-models/package.js';
import { percentageOfEvent } from '../../../src/rating/charge-models/percentage.js';
import { perUnitRange } from '../../../src/rating/charge-models/per-unit.js';
import { buildTiers, graduatedRange, graduatedTotal } from '../../../src/rating/charge-models/tiers.js';
import { volumeProvisional, volumeTotal } from '../../../src/rating/charge-models/volume.js';
import { Decimal } from '../../../src/shared/money/decimal.js';

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
