import { describe, expect, it } from 'vitest';
import { rateEvent, remainingShare } from '../../../src/rating/rate-event.js';
import type { RatingInput } from '../../../src/rating/types.js';
import { Decimal } from '../../../src/shared/money/decimal.js';
import { always, input, ruleSet } from './helpers.js';

/*
 * RECURRING meters: an event sets the meter's level; it is charged the rise of the whole-period
 * price, max(0, total(after) − total(before)), for the share of the period left from its timestamp.
 * April 2026: 30 days, so the 16th at midnight leaves half of it and the 21st a third.
 */
const APRIL = { start: new Date('2026-04-01T00:00:00Z'), end: new Date('2026-05-01T00:00:00Z') };
const seats = ruleSet([always({ id: 's', model: 'per_unit', unitPrice: '10' })]);
const tiered = ruleSet([always({ id: 'g', model: 'graduated', tiers: [{ upTo: '5', unitPrice: '10' }, { upTo: null, unitPrice: '6' }] })]);
const withFree = ruleSet([always({ id: 's', model: 'per_unit', unitPrice: '10', freeUnits: '2' })]);

/** An event of a RECURRING meter setting `level` at `at`, with the meter and its counter at `before`. */
function setLevel(level: string, at: string, before: string, period: { start?: Date; end?: Date } = APRIL): RatingInput {
  const base = input(level, {}, { timestamp: new Date(at) });
  const b = new Decimal(before);
  return { ...base, period: { quantity: b, counters: { get: () => b }, ...period }, meter: { aggregation: 'RECURRING' } };
}

async function rate(rs: typeof seats, level: string, at: string, before: string, period?: { start?: Date; end?: Date }) {
  const r = await rateEvent(rs, setLevel(level, at, before, period));
  expect(r.refusal).toBeNull();
  return r;
}

describe('RECURRING meters: an event sets the level and is charged the rise for the rest of the period', () => {
  it('a level set at the period start is charged the whole period; the counter and meter move to the level', async () => {
    const r = await rate(seats, '5', '2026-04-01T00:00:00Z', '0');
    expect(r.units).toBe(50_000_000_000n);
    expect(r.lines[0]).toMatchObject({ provisional: true, tiers: [] });
    expect(r.lines[0]!.amount.toFixed()).toBe('50');
    expect(r.lines[0]!.counter).toMatchObject({ key: 's' });
    expect(r.lines[0]!.counter!.delta.toFixed()).toBe('5');
    expect([r.lines[0]!.counter!.validFrom.toFixed(), r.lines[0]!.counter!.validTo?.toFixed()]).toEqual(['0', '0']);
    expect(r.meterAdvance.delta.toFixed()).toBe('5');
    expect([r.meterAdvance.validFrom?.toFixed(), r.meterAdvance.validTo?.toFixed()]).toEqual(['0', '0']);
  });

  it('an upgrade mid-period is charged the rise for the share of the period left', async () => {
    const r = await rate(seats, '8', '2026-04-16T00:00:00Z', '5');
    expect(r.lines[0]!.amount.toFixed()).toBe('15');
    expect(r.units).toBe(15_000_000_000n);
    expect(r.lines[0]!.counter!.delta.toFixed()).toBe('3');
    expect(r.meterAdvance.delta.toFixed()).toBe('3');
  });

  it('a downgrade is charged nothing and moves the level down', async () => {
    const r = await rate(seats, '3', '2026-04-21T00:00:00Z', '8');
    expect(r.units).toBe(0n);
    expect(r.lines[0]!.amount.toFixed()).toBe('0');
    expect(r.lines[0]!.counter!.delta.toFixed()).toBe('-5');
    expect(r.meterAdvance.delta.toFixed()).toBe('-5');
    expect([r.meterAdvance.validFrom?.toFixed(), r.meterAdvance.validTo?.toFixed()]).toEqual(['8', '8']);
  });

  it('a level of 0 removes every seat: nothing charged, the level goes to 0', async () => {
    const r = await rate(seats, '0', '2026-04-10T00:00:00Z', '3');
    expect(r.units).toBe(0n);
    expect(r.lines[0]!.counter!.delta.toFixed()).toBe('-3');
    expect(r.meterAdvance.delta.toFixed()).toBe('-3');
    const again = await rate(seats, '2', '2026-04-16T00:00:00Z', '0');
    expect(again.units).toBe(10_000_000_000n);
  });

  it('graduated tiers: the rise of the tiered period price, prorated', async () => {
    // total(3) = 30; total(8) = 5 × 10 + 3 × 6 = 68; half the period left: (68 − 30) / 2 = 19.
    const r = await rate(tiered, '8', '2026-04-16T00:00:00Z', '3');
    expect(r.lines[0]!.amount.toFixed()).toBe('19');
    // A third of the period left: (68 − 50) / 3 = 6, then a rise of a fraction of a cent rounds half up at 1e-9.
    expect((await rate(tiered, '8', '2026-04-21T00:00:00Z', '5')).units).toBe(6_000_000_000n);
    expect((await rate(tiered, '6', '2026-04-21T00:00:00Z', '5')).units).toBe(2_000_000_000n);
    expect((await rate(tiered, '5.5', '2026-04-21T00:00:00Z', '5')).units).toBe(1_000_000_000n);
    expect((await rate(tiered, '5.1', '2026-04-21T00:00:00Z', '5')).units).toBe(200_000_000n);
    expect((await rate(tiered, '5.1', '2026-04-30T23:59:59Z', '5')).units).toBe(231n);
  });

  it('free units: only the level above them is priced', async () => {
    expect((await rate(withFree, '5', '2026-04-01T00:00:00Z', '0')).units).toBe(30_000_000_000n);
    expect((await rate(withFree, '2', '2026-04-01T00:00:00Z', '0')).units).toBe(0n);
  });

  it('at the period boundaries: at its start the whole period, at its end nothing is left', async () => {
    expect(remainingShare(setLevel('1', '2026-04-01T00:00:00Z', '0')).toFixed()).toBe('1');
    expect(remainingShare(setLevel('1', '2026-05-01T00:00:00Z', '0')).toFixed()).toBe('0');
    expect(remainingShare(setLevel('1', '2026-03-31T00:00:00Z', '0')).toFixed()).toBe('1');
    expect((await rate(seats, '9', '2026-05-01T00:00:00Z', '0')).units).toBe(0n);
    // The last second of April: 1/2,592,000 of the period left.
    expect((await rate(seats, '9', '2026-04-30T23:59:59Z', '0')).units).toBe(34_722n);
    // Without period bounds (no billing period known) the event is charged for a whole period.
    expect((await rate(seats, '9', '2026-04-30T23:59:59Z', '0', { start: undefined, end: undefined })).units).toBe(90_000_000_000n);
  });

  it('a sequence of levels charges each rise once and leaves the counter at the last level', async () => {
    const counters = new Map<string, Decimal>();
    let level = new Decimal(0);
    const charged: bigint[] = [];
    for (const [q, at] of [['5', '2026-04-01T00:00:00Z'], ['8', '2026-04-16T00:00:00Z'], ['3', '2026-04-21T00:00:00Z'], ['3', '2026-04-22T00:00:00Z']] as const) {
      const base = input(q, {}, { timestamp: new Date(at) });
      const r = await rateEvent(seats, { ...base, period: { quantity: level, counters: { get: (k) => counters.get(k) }, ...APRIL }, meter: { aggregation: 'RECURRING' } });
      for (const l of r.lines) counters.set(l.counter!.key, l.counter!.before.plus(l.counter!.delta));
      level = level.plus(r.meterAdvance.delta);
      charged.push(r.units);
    }
    expect(charged).toEqual([50_000_000_000n, 15_000_000_000n, 0n, 0n]);
    expect(counters.get('s')!.toFixed()).toBe('3');
    expect(level.toFixed()).toBe('3');
  });
});
