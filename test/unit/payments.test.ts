import { describe, expect, it } from 'vitest';
import { amountRemaining, nextRetryAfter, paymentStatusOf, retryTimes, withFailure, withMissedRetry, withPayment, withRefund } from '../../src/modules/payments/collection.pure.js';
import type { CollectedInvoice, DunningSchedule } from '../../src/modules/payments/payment.record.js';

const UNIT = 1_000_000_000n;
const at = (iso: string) => new Date(iso);

const schedule: DunningSchedule = { retryDays: [1, 3, 5, 7], policy: 'SUSPEND', firstFailedAt: '2026-04-02T10:00:00.000Z', provider: 'MANUAL' };

function invoice(over: Partial<CollectedInvoice> = {}): CollectedInvoice {
  return {
    id: 'i', customerId: 'c', number: 'INV-1', status: 'FINALIZED', currency: 'USD', periodEnd: at('2026-04-01T00:00:00Z'), billed: 100n * UNIT,
    amountPaid: 0n, amountRefunded: 0n, paymentStatus: 'NONE', paymentAttempts: 0, nextPaymentAttemptAt: null, dunning: null, paymentReference: null, clockTime: null, ...over,
  };
}

describe('the retry schedule', () => {
  it('dates retries from the first failure, and the next after any instant', () => {
    expect(retryTimes(schedule).map((d) => d.toISOString())).toEqual(['2026-04-03T10:00:00.000Z', '2026-04-05T10:00:00.000Z', '2026-04-07T10:00:00.000Z', '2026-04-09T10:00:00.000Z']);
    expect(nextRetryAfter(schedule, at('2026-04-03T10:00:00Z'))?.toISOString()).toBe('2026-04-05T10:00:00.000Z');
    expect(nextRetryAfter(schedule, at('2026-04-03T09:59:59Z'))?.toISOString()).toBe('2026-04-03T10:00:00.000Z');
    expect(nextRetryAfter(schedule, at('2026-04-09T10:00:00Z'))).toBeNull();
  });

  it('fixes the schedule at the first failure and gives up when no retry date is left', () => {
    const first = withFailure(invoice(), at('2026-04-02T10:00:00Z'), { retryDays: [1, 3], policy: 'NONE', provider: 'MANUAL' });
    expect(first.state).toMatchObject({ status: 'FINALIZED', paymentStatus: 'FAILED', paymentAttempts: 1, nextPaymentAttemptAt: at('2026-04-03T10:00:00Z') });
    expect(first.state.dunning).toEqual({ retryDays: [1, 3], policy: 'NONE', firstFailedAt: '2026-04-02T10:00:00.000Z', provider: 'MANUAL' });
    // A later failure keeps the schedule the first one fixed, whatever the plan says now.
    const last = withFailure(invoice({ ...first.state, paymentStatus: 'FAILED' }), at('2026-04-05T11:00:00Z'), { retryDays: [30], policy: 'SUSPEND', provider: 'MANUAL' });
    expect(last).toMatchObject({ uncollectible: true, state: { status: 'UNCOLLECTIBLE', paymentStatus: 'UNCOLLECTIBLE', nextPaymentAttemptAt: null, paymentAttempts: 2, uncollectibleAt: at('2026-04-05T11:00:00Z') } });
    expect(withFailure(invoice(), at('2026-04-02T10:00:00Z'), { retryDays: [], policy: 'SUSPEND', provider: 'MANUAL' }).uncollectible).toBe(true);
  });

  it('MANUAL: a retry day without a report moves to the next, and the last one passing gives up', () => {
    const dunned = invoice({ dunning: schedule, paymentStatus: 'FAILED', nextPaymentAttemptAt: at('2026-04-03T10:00:00Z') });
    expect(withMissedRetry(dunned, at('2026-04-04T09:59:59Z'))).toBeNull();
    expect(withMissedRetry(dunned, at('2026-04-04T10:00:00Z'))?.state.nextPaymentAttemptAt).toEqual(at('2026-04-05T10:00:00Z'));
    // Days missed while no worker ran: the retry day still open.
    expect(withMissedRetry(dunned, at('2026-04-07T12:00:00Z'))?.state.nextPaymentAttemptAt).toEqual(at('2026-04-07T10:00:00Z'));
    const lastDay = invoice({ dunning: schedule, paymentStatus: 'FAILED', nextPaymentAttemptAt: at('2026-04-09T10:00:00Z') });
    expect(withMissedRetry(lastDay, at('2026-04-10T10:00:00Z'))).toMatchObject({ uncollectible: true, state: { status: 'UNCOLLECTIBLE' } });
    expect(withMissedRetry({ ...lastDay, status: 'PAID' }, at('2026-04-20T00:00:00Z'))).toBeNull();
  });
});

describe('amounts and status', () => {
  it('pays in parts, and a refund of a paid invoice does not make it due again', () => {
    const part = withPayment(invoice(), 30n * UNIT, at('2026-04-03T00:00:00Z'), 'a');
    expect(part).toMatchObject({ paid: false, state: { status: 'FINALIZED', paymentStatus: 'PARTIALLY_PAID', amountPaid: 30n * UNIT } });
    expect(amountRemaining(invoice(part.state))).toBe(70n * UNIT);
    const rest = withPayment(invoice(part.state), 70n * UNIT, at('2026-04-04T00:00:00Z'), 'b');
    expect(rest).toMatchObject({ paid: true, state: { status: 'PAID', paymentStatus: 'PAID', paidAt: at('2026-04-04T00:00:00Z'), paymentReference: 'b' } });
    const refunded = withRefund(invoice(rest.state), 40n * UNIT);
    expect(refunded.state).toMatchObject({ status: 'PAID', amountPaid: 60n * UNIT, amountRefunded: 40n * UNIT, paymentStatus: 'PARTIALLY_REFUNDED' });
    expect(amountRemaining(invoice(refunded.state))).toBe(0n);
    // A refund of an open invoice's payment makes it due again.
    const back = withRefund(invoice(part.state), 30n * UNIT);
    expect(amountRemaining(invoice(back.state))).toBe(100n * UNIT);
    expect(back.state.paymentStatus).toBe('REFUNDED');
  });

  it('records money for a voided invoice without making it paid', () => {
    expect(withPayment(invoice({ status: 'VOID' }), 100n * UNIT, at('2026-04-03T00:00:00Z'), 'x')).toMatchObject({ paid: false, state: { status: 'VOID', amountPaid: 100n * UNIT } });
  });

  it('names the status from the figures and the last attempt', () => {
    const s = (status: string, paid: bigint, refunded: bigint, last: 'FAILED' | 'PENDING' | null = null) => paymentStatusOf({ status, amountPaid: paid, amountRefunded: refunded, last });
    expect([s('FINALIZED', 0n, 0n), s('FINALIZED', 1n, 0n), s('FINALIZED', 1n, 0n, 'FAILED'), s('FINALIZED', 0n, 0n, 'PENDING'), s('UNCOLLECTIBLE', 5n, 0n)]).toEqual([
      'NONE', 'PARTIALLY_PAID', 'FAILED', 'PENDING', 'UNCOLLECTIBLE',
    ]);
    expect([s('PAID', 10n, 0n), s('PAID', 4n, 6n), s('PAID', 0n, 10n)]).toEqual(['PAID', 'PARTIALLY_REFUNDED', 'REFUNDED']);
  });
});
