import type { HoldRecord } from './reservation.store.js';

export const ReservationStatus = { OPEN: 'OPEN', SETTLED: 'SETTLED', RELEASED: 'RELEASED', EXPIRED: 'EXPIRED' } as const;
export type ReservationStatus = (typeof ReservationStatus)[keyof typeof ReservationStatus];

/** An authorisation: money held for long work until it is settled, released or expires. Its id is its hold's id. */
export interface Reservation {
  id: string;
  customerId: string;
  idempotencyKey: string;
  requestHash: string;
  meterCode: string;
  /** What was authorised: the event's dimensions and values; settling prices with them. */
  dimensions: Record<string, string>;
  values: Record<string, string>;
  /** The quantity the hold was priced for (null when an amount was held). */
  estimatedQuantity: string | null;
  currency: string;
  walletId: string | null;
  /** Held, in ledger units. */
  amount: bigint;
  hold: HoldRecord;
  periodStart: Date | null;
  status: ReservationStatus;
  expiresAt: Date;
  settledEventId: string | null;
  createdAt: Date;
  updatedAt: Date;
}
