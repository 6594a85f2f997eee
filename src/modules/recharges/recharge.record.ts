/** Where one auto-recharge stands. IN_FLIGHT until its charge succeeded (and topped the wallet up) or failed. */
export const RechargeStatus = { IN_FLIGHT: 'IN_FLIGHT', SUCCEEDED: 'SUCCEEDED', FAILED: 'FAILED' } as const;
export type RechargeStatus = (typeof RechargeStatus)[keyof typeof RechargeStatus];

/** One row of `wallet_recharge`: a charge a crossing of a wallet's auto-recharge asked for. */
export interface RechargeRecord {
  id: string;
  walletId: string;
  customerId: string;
  /** The wallet's auto-recharge (alert definition) whose crossing asked for it. */
  definitionId: string;
  status: RechargeStatus;
  /** Ledger units (1e-9) of the wallet's currency; whole minor units once charged. */
  amount: bigint;
  currency: string;
  /** The available balance whose crossing asked for it, and the threshold crossed (decimal strings). */
  available: string;
  threshold: string;
  /** What a failure does to the customer (the setting when the crossing happened). */
  onFailure: 'NONE' | 'SUSPEND';
  provider: string | null;
  /** The provider's payment (a Stripe PaymentIntent), once charged; also the top-up's idempotency key. */
  paymentReference: string | null;
  ledgerEntryId: string | null;
  failureCode: string | null;
  failureMessage: string | null;
  createdAt: Date;
  updatedAt: Date;
  settledAt: Date | null;
}
