import { describe, expect, it } from 'vitest';
import { usageItems, type LevelSet, type UsageGroup } from '../../../src/modules/invoices/usage-items.pure.js';
import { rateEvent } from '../../../src/rating/rate-event.js';
import type { ChargeParams } from '../../../src/rating/types.js';
import { Decimal } from '../../../src/shared/money/decimal.js';
import { always, input, ruleSet } from '../rating/helpers.js';

/** April 2026: 30 days; the 11th at midnight leaves two thirds of it, the 16th half, the 21st a third. */
const period = { start: new Date('2026-04-01T00:00:00Z'), end: new Date('2026-05-01T00:00:00Z') };
const set = (at: string, level: string): LevelSet => ({ at: new Date(at), level: new Decimal(level), dimensions: {} });

/**
 * A RECURRING meter's period: each change rated in order from the carried level (as the store
 * does), its lines summed into one usage group, then the invoice's usage items.
 */
async function invoice(params: ChargeParams, carried: LevelSet | null, changes: LevelSet[]) {
  const rs = ruleSet([always(params)]);
  let level = carried?.level ?? new Decimal(0);
  const g: UsageGroup = {
    meterCode: 'tokens', ruleSetKey: rs.ref.key, ruleSetVersion: rs.ref.version, ruleSetHash: rs.ref.hash, dimensions: {}, component: params.id,
    provisional: true, counterKey: params.id, adjustments: [], events: 0, quantity: new Decimal(0), amount: new Decimal(0), base: new Decimal(0), counted: new Decimal(0), tiers: [],
  };
  const charged: string[] = [];
  for (const c of changes) {
    const base = input(c.level.toFixed(), {}, { timestamp: c.at });
    const before = level;
    const rating = await rateEvent(rs, { ...base, period: { quantity: before, counters: { get: () => before }, ...period }, meter: { aggregation: 'RECURRING' } });
    const line = rating.lines[0]!;
    level = level.plus(line.counter!.delta);
    charged.push(line.amount.toFixed());
    g.events++;
    g.quantity = g.quantity.plus(line.quantity);
    g.amount = g.amount.plus(line.amount);
    g.base = g.base.plus(line.base);
    g.counted = g.counted.plus(line.counter!.delta);
  }
  const items = await usageItems({
    period,
    groups: changes.length > 0 ? [g] : [],
    latest: [],
    levels: [{ meterCode: 'tokens', carried, changes }],
    charges: [{ meterCode: 'tokens', meterName: 'Seats', aggregation: 'RECURRING', ruleSetKey: rs.ref.key, displayName: null, groupBy: [] }],
    rules: { version: () => rs, resolve: () => rs },
    customer: { id: 'c', externalId: 'c', metadata: {} },
    plan: null,
    round: (x) => x.toDecimalPlaces(2),
  });
  const lines = items.map((i) => ({ kind: i.kind, quantity: i.quantity?.toFixed() ?? null, amount: i.amount.toDecimalPlaces(9).toFixed(), rounded: (i.rounded ?? i.amount.toDecimalPlaces(2)).toFixed(2) }));
  return { charged, lines, total: lines.reduce((s, l) => s.plus(l.rounded), new Decimal(0)).toFixed(2) };
}

describe('RECURRING meters on the invoice: the time-weighted levels, trued up against the events', () => {
  const graduated = { id: 'g', model: 'graduated', tiers: [{ upTo: '5', unitPrice: '10' }, { upTo: null, unitPrice: '6' }] } as ChargeParams;
  const perSeat = { id: 's', model: 'per_unit', unitPrice: '10' } as ChargeParams;

  it('graduated tiers: 3 carried in, 8 from the 16th, 4 from the 21st', async () => {
    // total(3) = 30, total(8) = 68, total(4) = 40: 30 + (68 − 30) / 2 + (40 − 68) / 3 = 39.666…
    const r = await invoice(graduated, set('2026-03-05T00:00:00Z', '3'), [set('2026-04-16T00:00:00Z', '8'), set('2026-04-21T00:00:00Z', '4')]);
    expect(r.charged).toEqual(['19', '0']);
    expect(r.lines).toEqual([
      { kind: 'USAGE', quantity: '4.166666667', amount: '19', rounded: '19.00' },
      { kind: 'TRUE_UP', quantity: null, amount: '20.666666667', rounded: '20.67' },
    ]);
    expect(r.total).toBe('39.67');
  });

  it('a downgrade to 0 is credited for the rest of the period', async () => {
    // 50 for the month, less 50 for the two thirds after the 11th.
    const r = await invoice(perSeat, null, [set('2026-04-01T00:00:00Z', '5'), set('2026-04-11T00:00:00Z', '0')]);
    expect(r.charged).toEqual(['50', '0']);
    expect(r.lines).toEqual([
      { kind: 'USAGE', quantity: '1.666666667', amount: '50', rounded: '50.00' },
      { kind: 'TRUE_UP', quantity: null, amount: '-33.333333333', rounded: '-33.33' },
    ]);
    expect(r.total).toBe('16.67');
  });

  it('a level carried in with no event is billed for the whole period, once', async () => {
    const r = await invoice(graduated, set('2025-11-20T00:00:00Z', '7'), []);
    expect(r.lines).toEqual([{ kind: 'USAGE', quantity: '7', amount: '62', rounded: '62.00' }]);
  });

  it('nothing carried and nothing set: no line', async () => {
    const r = await invoice(perSeat, null, []);
    expect(r.lines).toEqual([]);
  });
});
