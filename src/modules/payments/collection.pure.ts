import { InvoicePaymentStatus, InvoiceStatus } from '../invoices/invoice.record.js';
import type { CollectedInvoice, DunningPolicy, DunningSchedule, InvoicePaymentState } from './payment.record.js';

const DAY_MS = 86_400_000;

/**
 * For MANUAL collection each retry date opens a day in which the integrator's flow retries and
 * reports; a day that passes without a report moves the invoice to the next date, and once the
 * last one has passed without a success the invoice is uncollectible.
 */
export const MANUAL_RETRY_WINDOW_MS = DAY_MS;

/** The instants retries are due: the first failure plus each retry day. */
export function retryTimes(schedule: DunningSchedule): Date[] {
  const first = Date.parse(schedule.firstFailedAt);
  return schedule.retryDays.map((d) => new Date(first + d * DAY_MS));
}

/** The first retry due after `at`; null when none is left. */
export function nextRetryAfter(schedule: DunningSchedule, at: Date): Date | null {
  return retryTimes(schedule).find((t) => t.getTime() > at.getTime()) ?? null;
}

/** What remains to be paid: nothing once PAID (a refund does not make it due again), else billed less paid. */
export function amountRemaining(inv: Pick<CollectedInvoice, 'status' | 'billed' | 'amountPaid'>): bigint {
  if (inv.status === InvoiceStatus.PAID) return 0n;
  const left = inv.billed - inv.amountPaid;
  return left;
}

/** The invoice's payment status from its figures and its last attempt still standing. */
export function paymentStatusOf(s: { status: string; amountPaid: bigint; amountRefunded: bigint; last: 'FAILED' | 'PENDING' | null }): InvoicePaymentStatus {
  if (s.status === InvoiceStatus.UNCOLLECTIBLE) return InvoicePaymentStatus.UNCOLLECTIBLE;
  if (s.status === InvoiceStatus.PAID) {
    if (s.amountRefunded === 0n) return InvoicePaymentStatus.PAID;
    return s.amountPaid <= 0n ? InvoicePaymentStatus.REFUNDED : InvoicePaymentStatus.PARTIALLY_REFUNDED;
  }
  if (s.last) return s.last;
  if (s.amountPaid > 0n) return InvoicePaymentStatus.PARTIALLY_PAID;
  return s.amountRefunded > 0n ? InvoicePaymentStatus.REFUNDED : InvoicePaymentStatus.NONE;
}

const standing = (paymentStatus: string): 'FAILED' | 'PENDING' | null =>
  paymentStatus === InvoicePaymentStatus.FAILED || paymentStatus === InvoicePaymentStatus.PENDING ? paymentStatus : null;

const baseState = (inv: CollectedInvoice): InvoicePaymentState => ({
  status: inv.status,
  amountPaid: inv.amountPaid,
  amountRefunded: inv.amountRefunded,
  paymentStatus: inv.paymentStatus,
  paymentAttempts: inv.paymentAttempts,
  nextPaymentAttemptAt: inv.nextPaymentAttemptAt,
  dunning: inv.dunning,
});

/** What collection did to an invoice, and what it announces. */
export interface Collected {
  state: InvoicePaymentState;
  /** The invoice is now PAID (it was not). */
  paid: boolean;
  /** The invoice is now UNCOLLECTIBLE (it was not). */
  uncollectible: boolean;
}

/**
 * A successful payment of `amount` (at most what remains): PAID once nothing remains. Money a
 * provider settles for an invoice voided meanwhile is recorded on it; it stays VOID.
 */
export function withPayment(inv: CollectedInvoice, amount: bigint, at: Date, reference: string | null): Collected {
  const amountPaid = inv.amountPaid + amount;
  const open = inv.status === InvoiceStatus.FINALIZED || inv.status === InvoiceStatus.UNCOLLECTIBLE;
  const paid = open && inv.billed - amountPaid <= 0n;
  const state: InvoicePaymentState = { ...baseState(inv), amountPaid, paymentAttempts: inv.paymentAttempts + 1 };
  if (paid) Object.assign(state, { status: InvoiceStatus.PAID, nextPaymentAttemptAt: null, paidAt: at, paymentReference: reference });
  state.paymentStatus = paymentStatusOf({ ...state, last: null });
  return { state, paid, uncollectible: false };
}

/**
 * A failed attempt at `at`. The first failure fixes the schedule (the plan's, or the global
 * one); the next attempt is the first retry date after this failure, and when none is left the
 * invoice becomes UNCOLLECTIBLE. A failure on an invoice already uncollectible changes nothing
 * but the count.
 */
export function withFailure(inv: CollectedInvoice, at: Date, fresh: { retryDays: number[]; policy: DunningPolicy; provider: string }): Collected {
  const state: InvoicePaymentState = { ...baseState(inv), paymentAttempts: inv.paymentAttempts + 1 };
  if (inv.status !== InvoiceStatus.FINALIZED) return { state, paid: false, uncollectible: false };
  const dunning = inv.dunning ?? { retryDays: fresh.retryDays, policy: fresh.policy, firstFailedAt: at.toISOString(), provider: fresh.provider };
  return giveUpOrRetry({ ...state, dunning }, nextRetryAfter(dunning, at), at);
}

/**
 * The MANUAL worker's step once a retry day passed without a report: the next retry day still
 * open, or UNCOLLECTIBLE when the last has passed. Null when nothing is due yet.
 */
export function withMissedRetry(inv: CollectedInvoice, at: Date): Collected | null {
  if (inv.status !== InvoiceStatus.FINALIZED || !inv.dunning || !inv.nextPaymentAttemptAt) return null;
  if (at.getTime() < inv.nextPaymentAttemptAt.getTime() + MANUAL_RETRY_WINDOW_MS) return null;
  return giveUpOrRetry(baseState(inv), nextRetryAfter(inv.dunning, new Date(at.getTime() - MANUAL_RETRY_WINDOW_MS)), at);
}

function giveUpOrRetry(state: InvoicePaymentState, next: Date | null, at: Date): Collected {
  if (next) return { state: { ...state, nextPaymentAttemptAt: next, paymentStatus: InvoicePaymentStatus.FAILED }, paid: false, uncollectible: false };
  return {
    state: { ...state, status: InvoiceStatus.UNCOLLECTIBLE, nextPaymentAttemptAt: null, paymentStatus: InvoicePaymentStatus.UNCOLLECTIBLE, uncollectibleAt: at },
    paid: false,
    uncollectible: true,
  };
}

/** PAID with nothing to collect (a credit, or prepaid in full): no payment is made. */
export function withNothingDue(inv: CollectedInvoice, at: Date, reference: string | null): Collected {
  const state: InvoicePaymentState = { ...baseState(inv), status: InvoiceStatus.PAID, nextPaymentAttemptAt: null, paidAt: at, paymentReference: reference };
  state.paymentStatus = paymentStatusOf({ ...state, last: null });
  return { state, paid: true, uncollectible: false };
}

/** An attempt a provider has yet to settle: no retry is scheduled while it is pending. */
export function withPending(inv: CollectedInvoice): Collected {
  const state: InvoicePaymentState = { ...baseState(inv), paymentAttempts: inv.paymentAttempts + 1, nextPaymentAttemptAt: null, paymentStatus: InvoicePaymentStatus.PENDING };
  return { state, paid: false, uncollectible: false };
}

/** A refund of `amount` from a payment: amountPaid falls; the status stays (a paid invoice stays paid). */
export function withRefund(inv: CollectedInvoice, amount: bigint): Collected {
  const state: InvoicePaymentState = { ...baseState(inv), amountPaid: inv.amountPaid - amount, amountRefunded: inv.amountRefunded + amount };
  state.paymentStatus = paymentStatusOf({ ...state, last: standing(inv.paymentStatus) });
  return { state, paid: false, uncollectible: false };
}

/**
 * A first attempt that was scheduled at finalization for a provider that collects, once the
 * customer has moved to one that does not: nothing is due from us any more; the integrator's
 * flow collects (and reports) as for any MANUAL invoice.
 */
export function withoutFirstAttempt(inv: CollectedInvoice): Collected {
  return { state: { ...baseState(inv), nextPaymentAttemptAt: null }, paid: false, uncollectible: false };
}
