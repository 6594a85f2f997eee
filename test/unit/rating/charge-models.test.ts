import { describe, expect, it } from 'vitest';
import { compileCharge, type CumulativeCharge } from '../../../src/rating/charge-models/index.js';
import { costPlus } from '../../../src/rating/charge-models/cost-plus.js';
import { packageRange, packageTotal } from '../../../src/rating/charge-models/package.js';
import { percentageOfEvent, percentageTotal } from '../../../src/rating/charge-models/percentage.js';
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
    [
      'graduated with blocks rounded up and down',
      { id: 'g', model: 'graduated', tiers: [{ upTo: '70000', unitPrice: '0.0000000333', flatFee: '0.1', blockSize: '777' }, { upTo: null, unitPrice: '0.0000000111', blockSize: '1234.5', rounding: 'down' }] } as ChargeParams,
    ],
    ['graduated with a maximum spend reached mid-period', { ...graduated, maximumSpend: '0.1001234567891' } as ChargeParams],
    ['per-unit with a maximum spend and an allowance', { id: 'g', model: 'per_unit', unitPrice: '0.00000000777', freeUnits: '333.5', maximumSpend: '0.00005' } as ChargeParams],
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
    ['graduated with blocks rounded up', { id: 'g', model: 'graduated', tiers: [{ upTo: '3000', unitPrice: '0.002', flatFee: '1', blockSize: '700' }, { upTo: null, unitPrice: '0.001', blockSize: '1500' }] }],
    ['graduated with a maximum spend', { id: 'g', model: 'graduated', maximumSpend: '9', tiers: [{ upTo: '1000', unitPrice: '0.002', flatFee: '1' }, { upTo: '5000', unitPrice: '0.001' }, { upTo: null, unitPrice: '0.0005', flatFee: '3' }] }],
    ['per-unit with allowance and a maximum spend', { id: 'g', model: 'per_unit', unitPrice: '0.003', freeUnits: '1000', maximumSpend: '12' }],
    ['graduated with blocks rounded down', { id: 'g', model: 'graduated', tiers: [{ upTo: '3000', unitPrice: '0.002', blockSize: '700', rounding: 'down' }, { upTo: null, unitPrice: '0.001', flatFee: '2', blockSize: '1500', rounding: 'down' }] }],
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


describe('flat fee at zero usage', () => {
  it('is charged by default and left out with flatFeeAtZero: false', () => {
    expect(s(graduatedTotal(tiers, d(0), false).amount)).toBe('0');
    expect(graduatedTotal(tiers, d(0), false).parts).toHaveLength(0);
    expect(s(volumeTotal(tiers, d(0), false).amount)).toBe('0');
    // Above zero the fee is due as before.
    expect(s(graduatedTotal(tiers, d(1), false).amount)).toBe('6');
    expect(s(volumeTotal(tiers, d(1), false).amount)).toBe('6');
  });
  for (const model of ['graduated', 'volume'] as const) {
    it(`reaches the aggregate from the rule file: ${model}`, async () => {
      const params = { id: 'g', model, tiers: [{ upTo: '100', unitPrice: '1', flatFee: '5' }, { upTo: null, unitPrice: '0.5' }] } as ChargeParams;
      const zero = async (p: ChargeParams) => (await rateAggregate(ruleSet([always(p)]), { ...input('0'), events: 0 })).lines[0]!.amount!.toFixed();
      expect(await zero(params)).toBe('5');
      expect(await zero({ ...params, flatFeeAtZero: true } as ChargeParams)).toBe('5');
      expect(await zero({ ...params, flatFeeAtZero: false } as ChargeParams)).toBe('0');
      const one = await rateAggregate(ruleSet([always({ ...params, flatFeeAtZero: false } as ChargeParams)]), { ...input('1'), events: 1 });
      expect(one.lines[0]!.amount!.toFixed()).toBe('6');
    });
  }
  it('reaches graduated_percentage', async () => {
    const params = { id: 'g', model: 'graduated_percentage', of: 'amount', tiers: [{ upTo: null, rate: '1', flatFee: '2' }], flatFeeAtZero: false } as ChargeParams;
    const r = await rateAggregate(ruleSet([always(params)]), { ...input('0', {}, { values: { amount: new Decimal(0) } }), events: 0 });
    expect(r.lines[0]!.amount!.toFixed()).toBe('0');
  });
});

describe('blocks inside tiers', () => {
  // 0-1000 in blocks of 250 at 0.01 a unit (2.50 a block), rounded up; above, blocks of 300 rounded down at 0.005.
  const blocks = buildTiers([
    { upTo: d(1000), unitPrice: d('0.01'), flatFee: d(0), block: { size: d(250), rounding: 'up' } },
    { upTo: null, unitPrice: d('0.005'), flatFee: d(0), block: { size: d(300), rounding: 'down' } },
  ]);
  it.each([
    // [from, to, amount, [tier, billed units]]
    ['0', '1', '2.5', [[1, '250']]],
    ['0', '250', '2.5', [[1, '250']]],
    ['0', '251', '5', [[1, '500']]],
    ['1', '250', '0', []],
    ['250', '250.000000001', '2.5', [[1, '250']]],
    ['999', '1000', '0', []],
    ['1000', '1299', '0', []],
    ['1000', '1300', '1.5', [[2, '300']]],
    ['900', '1600', '3', [[2, '600']]],
    ['700', '1600', '2.5+3', [[1, '250'], [2, '600']]],
  ])('bills whole blocks of (%s, %s]', (from, to, amount, parts) => {
    const r = graduatedRange(blocks, d(from as string), d(to as string));
    const expected = (amount as string).split('+').reduce((a, b) => a.plus(b), d(0));
    expect(s(r.amount)).toBe(s(expected));
    expect(r.parts.map((p) => [p.tier, s(p.quantity)])).toEqual(parts);
  });
  it('cuts the last block at the tier end, rounding up', () => {
    const cut = buildTiers([{ upTo: d(1000), unitPrice: d(1), flatFee: d(0), block: { size: d(300), rounding: 'up' } }, { upTo: null, unitPrice: d(0), flatFee: d(0) }]);
    expect(s(graduatedTotal(cut, d(901)).amount)).toBe('1000');
    expect(s(graduatedTotal(cut, d(2000)).amount)).toBe('1000');
    expect(s(graduatedTotal(cut, d(899)).amount)).toBe('900');
  });
  it('adds per-event ranges up to the aggregate', () => {
    const cuts = ['0', '0.5', '249.999', '250', '250.000001', '777', '1000', '1000.5', '1301', '4321.123456'];
    let sum = d(0);
    for (let i = 1; i < cuts.length; i++) sum = sum.plus(graduatedRange(blocks, d(cuts[i - 1]!), d(cuts[i]!)).amount);
    expect(s(sum)).toBe(s(graduatedTotal(blocks, d(cuts.at(-1)!)).amount));
  });
  it('prices a volume period in the blocks of the tier it reaches', () => {
    expect(s(volumeTotal(blocks, d(1)).amount)).toBe('2.5');
    expect(s(volumeTotal(blocks, d(1000)).amount)).toBe('10');
    expect(s(volumeTotal(blocks, d(1299)).amount)).toBe('6'); // floor(1299 / 300) = 4 blocks of 300 at 0.005
  });
  it('takes blockSize and rounding from the rule file, and refuses a zero block or rounding without blocks', async () => {
    const params = { id: 'g', model: 'graduated', tiers: [{ upTo: null, unitPrice: '0.01', blockSize: '250', rounding: 'down' }] } as ChargeParams;
    const r = await rateAggregate(ruleSet([always(params)]), { ...input('499'), events: 1 });
    expect(r.lines[0]!.amount!.toFixed()).toBe('2.5');
    expect(() => ruleSet([always({ ...params, tiers: [{ upTo: null, unitPrice: '0.01', blockSize: '0' }] } as ChargeParams)])).toThrow(/blockSize.*greater than zero/);
    expect(() => ruleSet([always({ ...params, tiers: [{ upTo: null, unitPrice: '0.01', rounding: 'up' }] } as ChargeParams)])).toThrow(/blockSize/);
  });
});

describe('percentage with a free amount', () => {
  const p = { rate: d('2'), fixedFee: d('0.30'), freeEvents: 0, freeAmount: d(100), minPerEvent: null, maxPerEvent: null };
  it.each([
    // [value before, event value, amount]
    ['0', '40', '0'],
    ['60', '40', '0'], // ends exactly at the free amount: still free, fee included
    ['80', '40', '0.7'], // 20 above it at 2 %, plus the fee
    ['100', '0.01', '0.3002'],
    ['500', '50', '1.3'],
  ])('after %s, an event of %s pays %s', (before, value, amount) => {
    expect(s(percentageOfEvent(p, d(value as string), 0, d(before as string)).amount)).toBe(amount);
  });
  it('prices the period from totals: exact without a fee, evenly spread with one', () => {
    expect(s(percentageTotal(p, d(100), 3).amount)).toBe('0');
    expect(s(percentageTotal({ ...p, fixedFee: d(0) }, d(350), 7).amount)).toBe('5');
    // 4 events of 50: two inside the free amount, two paying the fee
    const r = percentageTotal(p, d(200), 4);
    expect([s(r.amount), r.estimated]).toEqual(['2.6', true]);
    expect(percentageTotal(p, d(200), 1).estimated).toBe(false);
  });
  const params = { id: 'g', model: 'percentage', of: 'amount', rate: '2', fixedFee: '0.30', freeAmount: '100' } as ChargeParams;
  const rate = (value: string, before: string) => rateEvent(ruleSet([always(params)]), input('1', { g: before }, { values: { amount: d(value) } }));
  it('advances its counter by the value and says where the price holds', async () => {
    const inside = await rate('40', '10');
    expect(inside.amount.toFixed()).toBe('0');
    expect(inside.lines[0]!.counter).toMatchObject({ key: 'g', delta: d(40), validFrom: d(0), validTo: d(60) });
    const crossing = await rate('40', '80');
    expect(crossing.amount.toFixed()).toBe('0.7');
    expect(crossing.lines[0]!.counter).toMatchObject({ validFrom: d(80), validTo: d(80) });
    const above = await rate('40', '150');
    expect(above.amount.toFixed()).toBe('1.1');
    expect(above.lines[0]!.counter).toMatchObject({ validFrom: d(100), validTo: null });
    for (const [value, probe, same] of [['40', '0', inside], ['40', '60', inside], ['40', '100', above], ['40', '9999', above]] as const) {
      expect(fingerprint(await rate(value, probe))).toBe(fingerprint(same));
    }
  });
  it('adds a period of events up to the rate on the value above the free amount plus the paying events fees', async () => {
    let before = d(0);
    let sum = d(0);
    const values = ['30', '50', '19.99', '0.02', '77', '3'];
    for (const v of values) {
      sum = sum.plus((await rate(v, before.toFixed())).amount);
      before = before.plus(v);
    }
    // 180.01 in all: 80.01 above the free amount at 2 %, and 3 paying events (the one crossing included)
    expect(s(sum)).toBe(s(d('80.01').times('0.02').plus(d('0.9'))));
  });
  it('refuses freeAmount together with freeEvents', () => {
    expect(() => ruleSet([always({ ...params, freeEvents: 2 } as ChargeParams)])).toThrow(/freeAmount.*freeEvents/);
  });
});

describe('maximumSpend on a charge', () => {
  const graduatedCapped = { id: 'g', model: 'graduated', maximumSpend: '100', tiers: [{ upTo: '100', unitPrice: '1', flatFee: '5' }, { upTo: null, unitPrice: '0.5' }] } as ChargeParams;
  const charge = compileCharge(graduatedCapped) as CumulativeCharge;
  it('caps the period total and prices events past the cap at zero', () => {
    expect(s(charge.total(d(50)).amount)).toBe('55');
    expect(s(charge.total(d(94)).amount)).toBe('99');
    expect(s(charge.total(d(190)).amount)).toBe('100');
    expect(s(charge.total(d(10_000)).amount)).toBe('100');
    expect(s(charge.range(d(50), d(80)).amount)).toBe('30');
    expect(s(charge.range(d(80), d(120)).amount)).toBe('15'); // 85 so far: pays only up to the cap
    expect(s(charge.range(d(120), d(500)).amount)).toBe('0');
  });
  it('adds per-event ranges up to the capped aggregate', () => {
    const cuts = ['0', '10', '80', '94.999999999', '95', '95.5', '101', '150', '4000'];
    for (let n = 2; n <= cuts.length; n++) {
      let sum = d(0);
      for (let i = 1; i < n; i++) sum = sum.plus(charge.range(d(cuts[i - 1]!), d(cuts[i]!)).amount);
      expect(s(sum)).toBe(s(charge.total(d(cuts[n - 1]!)).amount));
    }
  });
  it('treats the cap as a price change point for reservations', () => {
    expect(charge.piece(d(50), d(60))).toMatchObject({ slope: d(1) });
    // 5 + x reaches the cap of 100 at x = 95
    expect(charge.piece(d(80), d(120))).toBeNull();
    expect(charge.piece(d(94), d(96))).toBeNull();
    expect(charge.piece(d(95), d(96))).toMatchObject({ slope: d(0), to: null });
    expect(charge.piece(d(160), d(170))).toMatchObject({ slope: d(0), to: null });
    // Below it, the piece ends where the event would reach past the cap.
    expect(charge.piece(d(20), d(30))!.to!.toFixed()).toBe('85');
  });
  it('may be stated in the description', () => {
    expect(() => ruleSet([always({ ...graduatedCapped, description: 'Tokens, at most 100 a month' } as ChargeParams)])).not.toThrow();
    expect(() => ruleSet([always({ ...graduatedCapped, description: 'Tokens, at most 120 a month' } as ChargeParams)])).toThrow(/120/);
  });
  it('is refused on a charge priced per event, and caps a volume period', async () => {
    expect(() => ruleSet([always({ id: 'p', model: 'percentage', of: 'amount', rate: '1', maximumSpend: '5' } as ChargeParams)])).toThrow(/maximumSpend/);
    const volume = compileCharge({ id: 'v', model: 'volume', maximumSpend: '10', tiers: [{ upTo: null, unitPrice: '1' }] } as ChargeParams) as CumulativeCharge;
    expect(s(volume.total(d(25)).amount)).toBe('10');
    expect(s(volume.range(d(8), d(25)).amount)).toBe('2');
    expect(volume.piece(d(1), d(2))).toBeNull();
  });
});

describe('maximumSpend on a rule set', () => {
  const charges = [
    always({ id: 'a', model: 'per_unit', unitPrice: '0.5' } as ChargeParams, 'a'),
    { ...always({ id: 'b', model: 'per_unit', unitPrice: '0.25' } as ChargeParams, 'b') },
  ];
  const rs = ruleSet(charges, { maximumSpend: '30' });
  const rate = (q: string, spent: string) => rateEvent(rs, input(q, { 'spend:test': spent }));
  it('charges the event that reaches the cap up to it, its lines cut in order, and later events nothing', async () => {
    const under = await rate('20', '10'); // 10 + 5
    expect([under.amount.toFixed(), under.units]).toEqual(['15', 15_000_000_000n]);
    expect(under.marks).toEqual([{ key: 'spend:test', before: d(10), delta: d(15), validFrom: d(0), validTo: d(15) }]);
    const crossing = await rate('20', '20'); // 15 due, 10 left: line a pays 10, line b nothing
    expect(crossing.lines.map((l) => [l.componentId, l.amount.toFixed(), l.units])).toEqual([['a', '10', 10_000_000_000n], ['b', '0', 0n]]);
    expect(crossing.marks[0]).toMatchObject({ delta: d(10), validFrom: d(20), validTo: d(20) });
    const past = await rate('20', '30');
    expect([past.amount.toFixed(), past.units]).toEqual(['0', 0n]);
    expect(past.marks[0]).toMatchObject({ delta: d(0), validFrom: d(30), validTo: null });
  });
  it('holds over the counter values it names', async () => {
    for (const [q, spent] of [['20', '10'], ['20', '20'], ['20', '30'], ['3', '0'], ['1', '29.5']] as const) {
      const base = await rate(q, spent);
      const m = base.marks[0]!;
      const top = m.validTo ?? m.validFrom.plus(1000);
      for (const probe of [m.validFrom, top, m.validFrom.plus(top).div(2)]) expect(fingerprint(await rate(q, probe.toFixed()))).toBe(fingerprint(base));
    }
  });
  it('adds a period of events up to the cap exactly, with prices finer than the ledger scale', async () => {
    const fine = ruleSet([always({ id: 'a', model: 'per_unit', unitPrice: '0.0000000333' } as ChargeParams)], { maximumSpend: '0.000123456789' });
    let spent = d(0);
    let units = 0n;
    for (let i = 0; i < 60; i++) {
      const r = await rateEvent(fine, input(String(100 + i * 7), { 'spend:test': spent.toFixed() }));
      units += r.units;
      spent = spent.plus(r.marks[0]!.delta);
    }
    expect(units).toBe(123_457n);
    expect(spent.toFixed()).toBe('0.000123457');
  });
  it('caps an aggregate period, and leaves a rule set without one alone', async () => {
    const r = await rateAggregate(rs, { ...input('100'), events: 3 }); // 50 + 25 uncapped
    expect(r.lines.map((l) => l.amount!.toFixed())).toEqual(['30', '0']);
    const plain = await rateEvent(ruleSet(charges), input('20'));
    expect(plain.marks).toEqual([]);
  });
});

describe('maximumSpend and minimumSpend of a rule set', () => {
  it('refuses a maximum below the minimum', () => {
    const charge = always({ id: 'a', model: 'per_unit', unitPrice: '1' } as ChargeParams);
    expect(() => ruleSet([charge], { minimumSpend: '20', maximumSpend: '10' })).toThrow(/maximumSpend.*not be less than minimumSpend/);
    expect(() => ruleSet([charge], { minimumSpend: '10', maximumSpend: '10' })).not.toThrow();
  });
});
