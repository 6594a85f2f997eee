import { AppError, ErrorCode } from '../../shared/errors.js';
import { formatLedgerUnits } from '../../shared/money/units.js';
import type { Reservation } from '../reservations/index.js';
import type { UsageEventRecord } from './usage-event.record.js';

export type RefusalCode = 'WALLET_INSUFFICIENT_FUNDS' | 'SPENDING_LIMIT_REACHED' | 'RULE_REFUSED' | 'UNPRICED_EVENT' | 'ACCOUNT_SUSPENDED';

/** What the pipeline answers for each event or authorization it was given. */
export type UsageOutcome =
  | { kind: 'accepted'; event: UsageEventRecord; replay: boolean }
  | { kind: 'authorized'; reservation: Reservation; replay: boolean }
  | { kind: 'refused'; code: RefusalCode; message: string; details: Record<string, unknown> }
  | { kind: 'error'; error: AppError }
  | { kind: 'skipped'; because: number };

export type Refused = Extract<UsageOutcome, { kind: 'refused' }>;

/**
 * A refusal for want of funds, saying what is available: never below zero. The store's figure
 * (balance less holds) goes below zero for a moment after it lost its state: rebuilt from
 * PostgreSQL, it may admit events while events it held before the loss are still committing;
 * those commits then take the balance below the new holds, PostgreSQL refuses the events held
 * too many, and their holds are given back. Meanwhile nothing can be spent, which is what a
 * caller is told.
 */
export const fundsRefused = (available: bigint | null, what = 'this event'): Refused => ({
  kind: 'refused',
  code: 'WALLET_INSUFFICIENT_FUNDS',
  message: `the wallet does not hold enough funds for ${what}`,
  details: available === null ? {} : { available: formatLedgerUnits(available < 0n ? 0n : available) },
});

export const capRefused = (spend: { spent: bigint; cap: bigint } | null): Refused => ({
  kind: 'refused',
  code: 'SPENDING_LIMIT_REACHED',
  message: "the customer's spending cap for this period is reached",
  details: spend ? { spent: formatLedgerUnits(spend.spent), cap: formatLedgerUnits(spend.cap) } : {},
});

/**
 * The customer is suspended (an uncollectible invoice, under a plan whose dunning policy is
 * SUSPEND): refused before anything is reserved, until a payment reinstates it.
 */
export const suspendedRefused = (customer: { suspendedAt?: Date | null; suspensionReason?: string | null }): Refused => ({
  kind: 'refused',
  code: 'ACCOUNT_SUSPENDED',
  message: `the customer is suspended${customer.suspensionReason ? `: ${customer.suspensionReason}` : ''}; usage is refused until the invoice is paid`,
  details: { suspendedAt: customer.suspendedAt?.toISOString() ?? null },
});

export const keyReused = (key: string): AppError =>
  new AppError(ErrorCode.IDEMPOTENCY_KEY_REUSED, `idempotency key ${JSON.stringify(key)} was already used for a different event`, { key });

export const reservationClosed = (): AppError =>
  new AppError(ErrorCode.RESERVATION_CLOSED, 'the reservation has expired, or was settled or released');

export const keyInProgress = (): AppError => new AppError(ErrorCode.CONFLICT, 'this idempotency key is being processed; retry shortly');

/** A key whose event was committed long ago and has since been dropped by retention: refused, never charged again. */
export const keyPastRetention = (key: string, occurredAt: Date): AppError =>
  new AppError(
    ErrorCode.ALREADY_EXISTS,
    `a usage event with idempotency key ${JSON.stringify(key)} was recorded for ${occurredAt.toISOString()}; its details are past the retention period`,
    { what: 'usage event', field: 'idempotencyKey', value: key, occurredAt: occurredAt.toISOString() },
  );

/** A store failure as the caller sees it: nothing was charged, retry. */
export function storeUnavailable(err: unknown): AppError {
  return err instanceof AppError ? err : new AppError(ErrorCode.SERVICE_UNAVAILABLE, 'the reservation store is unavailable; nothing was charged; retry');
}
