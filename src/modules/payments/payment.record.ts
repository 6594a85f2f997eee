/** A payment received for an invoice, or a refund of one. */
export const PaymentKind = { PAYMENT: 'PAYMENT', REFUND: 'REFUND' } as const;
export type PaymentKind = (typeof PaymentKind)[keyof typeof PaymentKind];

/**
 * Where one payment or refund stands. MANUAL ones are reported done (SUCCEEDED or FAILED); a
 * provider that settles later (a card network) leaves them PENDING until its callback.
 */
export const PaymentStatus = { PENDING: 'PENDING', SUCCEEDED: 'SUCCEEDED', FAILED: 'FAILED' } as const;
export type PaymentStatus = (typeof PaymentStatus)[keyof typeof PaymentStatus];

/** What an integrator reports of an attempt it made. */
export const PaymentOutcome = { SUCCEEDED: 'SUCCEEDED', FAILED: 'FAILED' } as const;
export type PaymentOutcome = (typeof PaymentOutcome)[keyof typeof PaymentOutcome];

/** What an invoice left uncollectible does to its customer (per plan version). */
export const DunningPolicy = { SUSPEND: 'SUSPEND', NONE: 'NONE' } as const;
export type DunningPolicy = (typeof DunningPolicy)[keyof typeof DunningPolicy];

/** The schedule an invoice follows, fixed at its first failed attempt. */
export interface DunningSchedule {
  /** Days after the first failure on which a retry is due, increasing. */
  retryDays: number[];
  policy: DunningPolicy;
  /** The first failed attempt: retries are counted from it. ISO. */
  firstFailedAt: string;
  provider: string;
}

/** One row of `payment`. Amounts in ledger units (1e-9) of the invoice's currency. */
export interface PaymentRecord {
  id: string;
  invoiceId: string;
  customerId: string;
  kind: PaymentKind;
  status: PaymentStatus;
  amount: bigint;
  currency: string;
  provider: string;
  providerReference: string | null;
  /** The attempt's number on its invoice (1 for the first); null for refunds. */
  attempt: number | null;
  failureReason: string | null;
  /** The payment a refund gives money back from. */
  refundsPaymentId: string | null;
  /** Why a refund was made. */
  reason: string | null;
  idempotencyKey: string;
  requestHash: string;
  /** When it happened at the provider (or as reported). */
  occurredAt: Date;
  createdAt: Date;
  updatedAt: Date;
}

/** An invoice as collection sees it, read under its row lock. Ledger units for money. */
export interface CollectedInvoice {
  id: string;
  customerId: string;
  number: string | null;
  status: string;
  currency: string;
  periodEnd: Date;
  /** What the invoice bills: total + prepaid, in ledger units (negative: a credit). */
  billed: bigint;
  /** Received less refunded. */
  amountPaid: bigint;
  amountRefunded: bigint;
  paymentStatus: string;
  paymentAttempts: number;
  nextPaymentAttemptAt: Date | null;
  dunning: DunningSchedule | null;
  /** The reference of the payment that paid it, once PAID. */
  paymentReference: string | null;
  /** Its customer's test clock's time: payments and dunning steps happen at it. Null for a live customer. */
  clockTime: Date | null;
}

/** The invoice columns a payment, a refund or a dunning step writes. */
export interface InvoicePaymentState {
  status: string;
  amountPaid: bigint;
  amountRefunded: bigint;
  paymentStatus: string;
  paymentAttempts: number;
  nextPaymentAttemptAt: Date | null;
  dunning: DunningSchedule | null;
  paidAt?: Date;
  paymentReference?: string | null;
  uncollectibleAt?: Date;
}
