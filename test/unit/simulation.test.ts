import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { copyFields } from '../../src/modules/simulations/simulation.repository.js';
import { newTally, simulateBatch, simulationReport, utcMillis } from '../../src/modules/simulations/simulation.pure.js';
import type { SimulationCustomer, SimulationEventRow } from '../../src/modules/simulations/simulation.record.js';
import { RuleBook } from '../../src/rating/rule-book.js';
import { always, ruleSet } from './rating/helpers.js';

/** A timestamp as PostgreSQL prints it with the session in UTC: no trailing zeros in the fraction. */
function pgText(ms: number, micros: number): string {
  const iso = new Date(ms).toISOString(); // 2026-03-01T12:00:00.500Z
  const fraction = `${iso.slice(20, 23)}${String(micros).padStart(3, '0')}`.replace(/0+$/, '');
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${fraction ? `.${fraction}` : ''}+00`;
}

describe('price simulation, reading the stream', () => {
  it('reads PostgreSQL’s UTC timestamps to the millisecond, as Date.parse reads their ISO form', () => {
    fc.assert(
      fc.property(fc.integer({ min: Date.parse('1970-01-01T00:00:00Z'), max: Date.parse('9999-12-31T23:59:59.999Z') }), fc.integer({ min: 0, max: 999 }), (ms, micros) => {
        expect(utcMillis(pgText(ms, micros))).toBe(ms);
      }),
    );
    expect(utcMillis('2026-03-01 12:00:00+00')).toBe(Date.parse('2026-03-01T12:00:00Z'));
    expect(utcMillis('2026-03-01 12:00:00.5+00')).toBe(Date.parse('2026-03-01T12:00:00.500Z'));
    // Any other form goes to Date.parse.
    expect(utcMillis('2026-03-01T12:00:00.250Z')).toBe(Date.parse('2026-03-01T12:00:00.250Z'));
    expect(utcMillis('2026-03-01 12:00:00+02')).toBe(Date.parse('2026-03-01T10:00:00Z'));
  });

  it('splits a line of COPY text at its tabs and undoes its backslash escapes', () => {
    expect(copyFields('a\tb\tc')).toEqual(['a', 'b', 'c']);
    // A JSON value holding a backslash, a tab and a newline, as COPY prints it.
    expect(copyFields('{"k": "x\\\\\\\\y"}\t{"t": "\\t\\n"}\tend')).toEqual(['{"k": "x\\\\y"}', '{"t": "\t\n"}', 'end']);
    expect(copyFields('\\b\\f\\r\\v')).toEqual(['\b\f\r\v']);
  });
});

describe('price simulation, re-rating', () => {
  const rules = ruleSet(
    [
      always({ id: 'tokens', model: 'per_unit', unitPrice: '2', per: '1000' }),
      {
        name: 'pro plans pay half',
        conditions: { all: [{ fact: 'plan', path: '$.code', operator: 'equal', value: 'pro' }] },
        event: { type: 'adjustment', params: { id: 'half', kind: 'discount', percent: '50' } },
      },
      {
        name: 'internal keys are free',
        conditions: { all: [{ fact: 'event', path: '$.dimensions.key', operator: 'equal', value: 'internal' }] },
        event: { type: 'adjustment', params: { id: 'free', kind: 'discount', percent: '100' } },
      },
    ],
    { key: 'tokens' },
  );
  const book = new RuleBook([rules]);
  const switchAt = Date.parse('2026-03-10T00:00:00Z');
  const customer: SimulationCustomer = {
    id: 'c1',
    externalId: 'acme',
    metadata: {},
    plans: [
      { startsAt: Date.parse('2026-01-01T00:00:00Z'), endsAt: switchAt, code: 'basic', version: 1 },
      { startsAt: switchAt, endsAt: null, code: 'pro', version: 1 },
    ],
  };
  const row = (at: string, quantity: string, key: string): SimulationEventRow => ['c1', '2026-03-01 00:00:00+00', at, 'tokens', quantity, JSON.stringify({ key }), '{}', 'tokens', 'USD', '0'];

  it('selects rules again when the plan changes mid-stream or the dimensions differ, however the selections are kept', async () => {
    expect(rules.selector.readsContextOnly).toBe(true);
    const tally = newTally('key', book.keys(), new Date('2026-03-01T00:00:00Z'));
    const lookups = { customers: new Map([['c1', customer]]), meters: new Map([['tokens', { aggregation: 'SUM' as const, property: null }]]) };
    await simulateBatch(book, tally, [row('2026-03-05 00:00:00+00', '1000', 'web'), row('2026-03-06 00:00:00+00', '1000', 'internal'), row('2026-03-07 00:00:00+00', '2000', 'web')], lookups);
    // The plan changes between batches and within the next one.
    await simulateBatch(book, tally, [row('2026-03-09 23:59:59.999+00', '1000', 'web'), row('2026-03-10 00:00:00+00', '1000', 'web'), row('2026-03-11 00:00:00+00', '4000', 'web')], lookups);
    const report = simulationReport(tally, new Date('2026-03-01T00:00:00Z'), new Date('2026-04-01T00:00:00Z'));
    // basic: 2 + 0 + 4 + 2; pro: 1 + 4.
    expect(report.groups.map((g) => [g.name, g.events, g.candidate])).toEqual([
      ['internal', 1, '0'],
      ['web', 5, '13'],
    ]);
    expect(report.totals[0]).toMatchObject({ events: 6, candidate: '13' });
  });

  it('leaves the events of RECURRING meters as they were charged, counted as unchanged', async () => {
    const tally = newTally('key', book.keys(), new Date('2026-03-01T00:00:00Z'));
    const lookups = { customers: new Map([['c1', customer]]), meters: new Map([['tokens', { aggregation: 'RECURRING' as const, property: null }]]) };
    const seats: SimulationEventRow = ['c1', '2026-03-01 00:00:00+00', '2026-03-16 00:00:00+00', 'tokens', '8', JSON.stringify({ key: 'web' }), '{}', 'tokens', 'USD', '15000000000'];
    await simulateBatch(book, tally, [seats], lookups);
    expect({ events: tally.events, unchanged: tally.unchanged, refused: tally.refused }).toEqual({ events: 1, unchanged: 1, refused: 0 });
    const report = simulationReport(tally, new Date('2026-03-01T00:00:00Z'), new Date('2026-04-01T00:00:00Z'));
    expect(report.totals[0]).toMatchObject({ current: '15', candidate: '15', difference: '0' });
  });

  it('knows when a selection reads more than the event’s meter and dimensions, the customer and the plan', () => {
    const byQuantity = ruleSet([{ ...always({ id: 'x', model: 'per_unit', unitPrice: '1' }), conditions: { all: [{ fact: 'event', path: '$.quantity', operator: 'decimalGreaterThan', value: '10' }] } }]);
    const byPeriod = ruleSet([{ ...always({ id: 'x', model: 'per_unit', unitPrice: '1' }), conditions: { all: [{ fact: 'period', path: '$.quantity', operator: 'decimalGreaterThan', value: '10' }] } }]);
    const byValue = ruleSet([{ ...always({ id: 'x', model: 'per_unit', unitPrice: '1' }), conditions: { all: [{ fact: 'event', path: '$.values.cost', operator: 'decimalGreaterThan', value: '1' }] } }]);
    const byMetadata = ruleSet([{ ...always({ id: 'x', model: 'per_unit', unitPrice: '1' }), conditions: { all: [{ fact: 'customer', path: '$.metadata.tier', operator: 'equal', value: 'gold' }] } }]);
    expect([byQuantity, byPeriod, byValue, byMetadata].map((r) => r.selector.readsContextOnly)).toEqual([false, false, false, true]);
  });
});
