import { describe, expect, it } from 'vitest';
import { baseFeeItems, periodShare, type FeeSegment } from '../../../src/modules/invoices/base-fees.pure.js';
import { billedKey, composeLines, invoiceTotals, type ComposeOptions } from '../../../src/modules/invoices/invoice-compose.pure.js';
import { LineKind, type BillingItem } from '../../../src/modules/invoices/invoice.record.js';
import { Decimal } from '../../../src/shared/money/decimal.js';

const april = { start: new Date('2026-04-01T00:00:00Z'), end: new Date('2026-05-01T00:00:00Z') };
const usd: ComposeOptions = { exponent: 2, rounding: 'HALF_UP', taxRate: null };

const segment = (start: string, end: string, fee = '30'): FeeSegment => ({
  subscriptionId: 's1',
  planName: 'Pro',
  planCode: 'pro',
  planVersion: 1,
  baseFee: new Decimal(fee),
  timing: 'ARREARS',
  start: new Date(start),
  end: new Date(end),
  trialEndsAt: null,
});

const item = (amount: string, kind: LineKind = LineKind.USAGE, key = 'k'): BillingItem => ({
  kind,
  key,
  periodStart: april.start,
  periodEnd: april.end,
  description: 'tokens',
  meterCode: null,
  dimensions: null,
  quantity: null,
  amount: new Decimal(amount),
  adjustments: [],
  taxable: kind !== LineKind.PREPAID,
  tiers: [],
  details: {},
});

describe('proration', () => {
  it('by DAY counts local calendar days, the change day going to the new plan, and the shares add up to 1', () => {
    const before = periodShare(april, april.start, new Date('2026-04-10T15:00:00Z'), 'DAY', 'UTC');
    const after = periodShare(april, new Date('2026-04-10T15:00:00Z'), april.end, 'DAY', 'UTC');
    expect([before.used, after.used, before.of]).toEqual([9, 21, 30]);
    expect(before.share.plus(after.share).toFixed()).toBe('1');
  });

  it('by DAY in the customer time zone: 23:30 UTC on the 9th is already the 10th in Tokyo', () => {
    const tokyo = { start: new Date('2026-03-31T15:00:00Z'), end: new Date('2026-04-30T15:00:00Z') };
    expect(periodShare(tokyo, tokyo.start, new Date('2026-04-09T23:30:00Z'), 'DAY', 'Asia/Tokyo').used).toBe(9);
    expect(periodShare(april, april.start, new Date('2026-04-09T23:30:00Z'), 'DAY', 'UTC').used).toBe(8);
  });

  it('by SECOND is exact elapsed time', () => {
    const half = periodShare(april, april.start, new Date('2026-04-16T00:00:00Z'), 'SECOND', 'UTC');
    expect(half.share.toFixed()).toBe('0.5');
    const { share } = periodShare(april, april.start, new Date('2026-04-10T12:00:00Z'), 'SECOND', 'UTC');
    expect(share.times(30 * 86_400).toDecimalPlaces(40).toFixed()).toBe(String(9.5 * 86_400));
  });

  it('a trial waives the base fee until it ends; a whole period has no proration note', () => {
    const [trial] = baseFeeItems(april, [{ ...segment('2026-04-01T00:00:00Z', '2026-05-01T00:00:00Z'), trialEndsAt: new Date('2026-04-11T00:00:00Z') }], 'DAY', 'UTC');
    expect(trial!.amount.toFixed()).toBe('20');
    expect(trial!.description).toBe('Pro base fee, 2026-04-11 to 2026-05-01 (20 of 30 days, after the trial)');
    const [whole] = baseFeeItems(april, [segment('2026-04-01T00:00:00Z', '2026-05-01T00:00:00Z')], 'DAY', 'UTC');
    expect(whole!.description).toBe('Pro base fee, 2026-04-01 to 2026-05-01');
  });
});

describe('composing lines and totals', () => {
  it('rounds each line once and keeps the exact amount', () => {
    const lines = composeLines([item('0.125'), item('0.125', LineKind.USAGE, 'k2')], new Map(), [], usd);
    expect(lines.map((l) => [l.precise.toFixed(), l.rounded.toFixed()])).toEqual([
      ['0.125', '0.13'],
      ['0.125', '0.13'],
    ]);
    const totals = invoiceTotals(lines, usd);
    expect([totals.subtotal, totals.precise.subtotal]).toEqual(['0.26', '0.25']);
  });

  it('bills only the difference from what was billed, and rounded differences telescope to round(final)', () => {
    const billed = new Map([[billedKey(april.start, 'k'), { amount: new Decimal('10.004'), rounded: new Decimal('10.00'), quantity: null, invoices: ['INV-000001'], description: 'tokens', kind: LineKind.USAGE, periodEnd: april.end }]]);
    const [line] = composeLines([item('10.006')], billed, [], usd);
    expect([line!.precise.toFixed(), line!.rounded.toFixed()]).toEqual(['0.002', '0.01']);
    expect(line!.description).toBe('Change since INV-000001: tokens');
    expect(composeLines([item('10.004')], billed, [], usd)).toEqual([]);
  });

  it('credits a billed key that is no longer due', () => {
    const billed = new Map([[billedKey(april.start, 'fee:s1'), { amount: new Decimal('50'), rounded: new Decimal('50.00'), quantity: null, invoices: ['INV-000007'], description: 'Pro base fee', kind: LineKind.BASE_FEE, periodEnd: april.end }]]);
    const [line] = composeLines([], billed, [billedKey(april.start, 'fee:s1')], usd);
    expect([line!.kind, line!.rounded.toFixed(), line!.description]).toEqual(['BASE_FEE', '-50', 'No longer due, billed on INV-000007: Pro base fee']);
  });

  it('tax: exclusive adds it, inclusive shows what the total holds, prepaid lines are not taxed', () => {
    const lines = composeLines([item('100'), item('-40', LineKind.PREPAID, 'prepaid:MAIN')], new Map(), [], usd);
    const excl = invoiceTotals(lines, { ...usd, taxRate: { code: 'T', name: 'T', percent: '8.875', inclusive: false } });
    expect(excl).toMatchObject({ subtotal: '100.00', tax: '8.88', total: '108.88', prepaid: '-40.00', amountDue: '68.88' });
    const incl = invoiceTotals(lines, { ...usd, taxRate: { code: 'T', name: 'T', percent: '20', inclusive: true } });
    expect(incl).toMatchObject({ subtotal: '100.00', tax: '16.67', total: '100.00', amountDue: '60.00' });
  });

  it('zero-exponent currencies round to whole units; HALF_EVEN is available', () => {
    const jpy = { ...usd, exponent: 0 };
    expect(composeLines([item('2.5')], new Map(), [], jpy)[0]!.rounded.toFixed()).toBe('3');
    expect(composeLines([item('2.5')], new Map(), [], { ...jpy, rounding: 'HALF_EVEN' })[0]!.rounded.toFixed()).toBe('2');
  });
});
