import { formatLedgerUnits, fromLedgerUnits } from '../../shared/money/units.js';
import type { PaymentEventPayment } from '../webhooks/webhook.record.js';
import type { PaymentRecord } from './payment.record.js';

/** Ledger units as an amount at the given scale (exact: payments are whole minor units). */
export const atScale = (units: bigint, scale: number): string => fromLedgerUnits(units).toFixed(scale);

const iso = (d: Date | null | undefined): string | null => (d ? new Date(d).toISOString() : null);

/** A payment attempt as payment events carry it. */
export function paymentEventOf(p: PaymentRecord, nextAttemptAt: Date | null): PaymentEventPayment {
  return {
    id: p.id,
    amount: formatLedgerUnits(p.amount),
    currency: p.currency,
    attempt: p.attempt ?? 0,
    failureCode: null,
    failureMessage: p.failureReason,
    nextAttemptAt: iso(nextAttemptAt),
  };
}
