import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FixedClock } from '../../src/shared/clock.js';
import {
  AlertsDocument,
  CreateAlertDefinitionDocument,
  CreateCustomerDocument,
  CreateMeterDocument,
  CreatePlanDocument,
  CreateSubscriptionDocument,
  InvoicesDocument,
  RecordUsageDocument,
  UpcomingInvoiceDocument,
  UsageDocument,
  type InvoiceFieldsFragment,
} from '../generated/graphql.js';
import { codesOf } from '../support/graphql-client.js';
import { deleteRedisKeys, startTestApp, type TestApp } from '../support/test-app.js';

/**
 * Seats as a RECURRING meter: each event sets the level held from its timestamp on; an event is
 * charged the rise for the rest of the period, the invoice bills the time-weighted amount and
 * trues up the difference, and a level carries over into later periods without any event.
 * April 2026 has 30 days: the 16th at midnight leaves half of it, the 21st a third. $10 a seat.
 */
const clock = new FixedClock(new Date('2026-04-01T00:00:00Z'));
let t: TestApp;
let seq = 0;

const onSeats = (params: Record<string, unknown>) => ({
  name: 'seats',
  conditions: { all: [{ fact: 'event', path: '$.meter', operator: 'equal', value: 'seats' }] },
  event: { type: 'charge', params },
});
const RULES = [
  { key: 'seats', version: 1, effectiveFrom: '2026-01-01T00:00:00Z', currency: 'USD', rules: [onSeats({ id: 'seats', model: 'per_unit', unitPrice: '10', description: 'seats' })] },
  {
    // Half price on every event of a customer already holding 5 seats or more: a rule reading
    // period.quantity, so that a store rebuilt at the wrong level changes a price.
    key: 'seats-loyal',
    version: 1,
    effectiveFrom: '2026-01-01T00:00:00Z',
    currency: 'USD',
    rules: [
      onSeats({ id: 'seats', model: 'per_unit', unitPrice: '10' }),
      {
        name: 'loyal',
        conditions: { all: [{ fact: 'period', path: '$.quantity', operator: 'decimalGreaterThanInclusive', value: '5' }] },
        event: { type: 'adjustment', params: { id: 'loyal', kind: 'discount', percent: '50' } },
      },
    ],
  },
];

function rulesDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'billing-recurring-'));
  cpSync(path.resolve('rules'), dir, { recursive: true });
  for (const r of RULES) {
    mkdirSync(path.join(dir, r.key));
    writeFileSync(path.join(dir, r.key, 'v1.json'), JSON.stringify(r, null, 2));
  }
  return dir;
}

beforeAll(async () => {
  t = await startTestApp({ clock, env: { RULES_DIR: rulesDir(), RULES_WATCH: 'false', INVOICE_CLOSE_INTERVAL_MS: '0', INVOICE_GRACE_MS: '86400000' } });
  const { createMeter } = await t.admin.ok(CreateMeterDocument, { input: { code: 'seats', name: 'Seats', aggregation: 'RECURRING', property: 'seats' } });
  expect(createMeter.meter).toMatchObject({ aggregation: 'RECURRING', property: 'seats' });
  await t.admin.ok(CreateMeterDocument, { input: { code: 'rec_calls', name: 'Calls', aggregation: 'SUM' } });
  const plan = (code: string, ruleSetKey: string) =>
    t.admin.ok(CreatePlanDocument, { input: { code, name: code, currency: 'USD', billingInterval: 'MONTHLY', baseFee: '0', charges: [{ meterCode: 'seats', ruleSetKey }, { meterCode: 'rec_calls', ruleSetKey: 'seats' }] } });
  await plan('seats', 'seats');
  await plan('seats-loyal', 'seats-loyal');
});

afterAll(async () => {
  await t?.close();
});

async function customer(planCode: string): Promise<string> {
  const externalId = `r-${process.pid}-${seq++}`;
  const { customer } = (await t.admin.ok(CreateCustomerDocument, { input: { externalId, name: externalId, currency: 'USD' } })).createCustomer;
  clock.set('2026-04-01T00:00:00.000Z');
  await t.admin.ok(CreateSubscriptionDocument, { input: { customerId: customer.id, planCode, startsAt: '2026-04-01T00:00:00.000Z', alignment: 'CALENDAR', baseFeeTiming: 'ARREARS' } });
  return customer.id;
}

/** Sets the seats at `at`; returns what the event was charged. */
async function seats(customerId: string, at: string, level: string): Promise<string> {
  clock.set(at);
  const r = await t.admin.ok(RecordUsageDocument, { input: { customerId, meterCode: 'seats', quantity: level, timestamp: at, idempotencyKey: `s-${seq++}` } });
  expect(r.recordUsage.refusal).toBeNull();
  expect(r.recordUsage.status).toBe('ACCEPTED');
  return r.recordUsage.event!.charged;
}

async function close(customerId: string, periodStart: string, at: string): Promise<InvoiceFieldsFragment> {
  clock.set(at);
  await t.app.services.invoices.closeCustomer(customerId, new Date(at));
  const { invoices } = await t.admin.ok(InvoicesDocument, { customerId, first: 10 });
  return invoices.nodes.find((i) => i.periodStart === periodStart && i.kind === 'PERIOD')!;
}

const seatLines = (inv: InvoiceFieldsFragment) => inv.lines.filter((l) => l.meterCode === 'seats').map((l) => ({ kind: l.kind, quantity: l.quantity, amount: l.amount, precise: l.preciseAmount }));

describe('RECURRING meters: seats held for part of a period', () => {
  it('5 seats on the 1st, 8 on the 16th, 3 on the 21st: each rise charged for the rest of April, the invoice bills the time-weighted seats; May bills the 3 carried seats in full', async () => {
    const c = await customer('seats');
    const { createAlertDefinition } = await t.admin.ok(CreateAlertDefinitionDocument, { input: { metric: 'METER_USAGE' as never, customerId: c, meterCode: 'seats', threshold: '7' } });
    expect(createAlertDefinition.definition.id).toBeTruthy();

    expect(await seats(c, '2026-04-01T00:00:00.000Z', '5')).toBe('50');
    expect(await seats(c, '2026-04-16T00:00:00.000Z', '8')).toBe('15');
    expect(await seats(c, '2026-04-21T00:00:00.000Z', '3')).toBe('0');

    // The alert watches the level: it crossed 7 when 8 seats were set (a sum would have read 13).
    const { alerts } = await t.admin.ok(AlertsDocument, { customerId: c });
    expect(alerts.nodes.map((a) => [a.metric, a.meterCode, a.value])).toEqual([['METER_USAGE', 'seats', '8']]);

    // Usage buckets show the level each day ended at.
    const { usage } = await t.admin.ok(UsageDocument, { customerId: c, from: '2026-04-01T00:00:00.000Z', to: '2026-04-22T00:00:00.000Z', granularity: 'DAY' as never, meterCodes: ['seats'] });
    const days = usage.buckets.filter((b) => b.groups.length > 0).map((b) => [b.start.slice(0, 10), b.groups[0]!.aggregation, b.groups[0]!.quantity]);
    expect(days).toEqual([
      ['2026-04-01', 'RECURRING', '5'],
      ['2026-04-16', 'RECURRING', '8'],
      ['2026-04-21', 'RECURRING', '3'],
    ]);

    // 5 × $10 for the month + $30 more for half of it − $50 less for a third of it = $48.33;
    // the events charged $65, so the true-up credits $16.67. Average: 5 + 3/2 − 5/3 seats.
    const april = await close(c, '2026-04-01T00:00:00.000Z', '2026-05-02T00:00:00.000Z');
    expect(seatLines(april)).toEqual([
      { kind: 'USAGE', quantity: '4.833333333', amount: '65.00', precise: '65' },
      { kind: 'TRUE_UP', quantity: null, amount: '-16.67', precise: expect.stringMatching(/^-16\.6666666666666666/) },
    ]);
    expect(april.total).toBe('48.33');

    // May: no event, the 3 seats carried in are billed for the whole month.
    const may = await close(c, '2026-05-01T00:00:00.000Z', '2026-06-02T00:00:00.000Z');
    expect(seatLines(may)).toEqual([{ kind: 'USAGE', quantity: '3', amount: '30.00', precise: '30' }]);
    expect(may.total).toBe('30.00');
  });

  it('a store that lost its state rebuilds the level from PostgreSQL, and a new period starts at the carried level: nothing charged twice', async () => {
    const c = await customer('seats-loyal');
    expect(await seats(c, '2026-04-01T00:00:00.000Z', '5')).toBe('50');
    // Holding 5: half price. (80 − 50) × 1/2 × 1/2.
    expect(await seats(c, '2026-04-16T00:00:00.000Z', '8')).toBe('7.5');
    await deleteRedisKeys(t.redisPrefix);
    // Rebuilt at 8 (not 0, not 13): the same level again is no rise.
    expect(await seats(c, '2026-04-16T12:00:00.000Z', '8')).toBe('0');
    // (100 − 80) × 1/3 × 1/2.
    expect(await seats(c, '2026-04-21T00:00:00.000Z', '10')).toBe('3.333333333');
    await deleteRedisKeys(t.redisPrefix);
    // May starts at the 10 seats carried in: 11 on the 1st is one more seat for the month, at half price.
    expect(await seats(c, '2026-05-01T00:00:00.000Z', '11')).toBe('5');
    // A level of 0 is recorded (every seat removed), and charges nothing.
    expect(await seats(c, '2026-05-11T00:00:00.000Z', '0')).toBe('0');
    // Back to 2 seats with 21 of May's 31 days left: 20 × 21/31, full price (holding 0).
    expect(await seats(c, '2026-05-11T00:00:00.000Z', '2')).toBe('13.548387097');
  });

  it("the upcoming invoice bills the seats held to the period's end, without projecting them further", async () => {
    const c = await customer('seats');
    // 6 seats from the 1st, 9 from the 11th (two thirds left): 60 + 30 × 2/3 = 80, already the whole month.
    expect(await seats(c, '2026-04-01T00:00:00.000Z', '6')).toBe('60');
    expect(await seats(c, '2026-04-11T00:00:00.000Z', '9')).toBe('20');
    clock.set('2026-04-16T00:00:00.000Z');
    const { upcomingInvoice } = await t.admin.ok(UpcomingInvoiceDocument, { customerId: c });
    expect(seatLines(upcomingInvoice!.invoice)).toEqual([{ kind: 'USAGE', quantity: '8', amount: '80.00', precise: '80' }]);
    expect(upcomingInvoice!.projected).toMatchObject({ elapsed: '0.5', total: '80.00' });
  });

  it('0 is a quantity only for RECURRING meters', async () => {
    const c = await customer('seats');
    clock.set('2026-04-02T00:00:00.000Z');
    const r = await t.admin.request(RecordUsageDocument, { input: { customerId: c, meterCode: 'rec_calls', quantity: '0', timestamp: '2026-04-02T00:00:00.000Z', idempotencyKey: `z-${seq++}` } });
    expect(codesOf(r)).toEqual(['VALIDATION_FAILED']);
    expect(JSON.stringify(r.errors)).toContain('must be greater than zero');
    expect(await seats(c, '2026-04-02T00:00:00.000Z', '0')).toBe('0');
  });
});
