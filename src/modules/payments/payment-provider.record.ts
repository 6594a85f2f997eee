/**
 * A payment provider: what collects an invoice's money. Two kinds fit one interface:
 *
 * - one the integrator runs (MANUAL): its own payment flow collects and reports each attempt
 *   with `recordPaymentAttempt`; dunning only dates the retries (`collects: false`);
 * - one the service drives (an off-session card charge, e.g. a Stripe PaymentIntent): the
 *   dunning worker calls `collect` at each due attempt, with the attempt's key
 *   `<invoiceId>:<attempt>` as the provider's idempotency key, so a worker that crashed after
 *   the call and runs the attempt again charges once. The answer may be final (SUCCEEDED,
 *   FAILED) or PENDING: the outcome then arrives later, from the provider's webhook, through
 *   `PaymentService.settle({ provider, reference, outcome })`, which applies it as if the
 *   attempt had just ended. A webhook that never comes (lost, or the endpoint misconfigured)
 *   does not leave it PENDING for ever: once it has been pending for the pending check window
 *   (PAYMENT_PENDING_CHECK_MINUTES), the workers ask the provider where it stands (`status`) and
 *   settle a final answer through the same `settle`. The same kind charges wallets'
 *   auto-recharges (`charge`, with the key `recharge:<id>`). It charges the customer by its
 *   references at the provider (`Payer`).
 *
 * Amounts are ledger units (1e-9) of the invoice's currency; `exponent` is the currency's, for
 * providers that count in minor units (amount / 10^(9 - exponent)).
 */
export interface PaymentProvider {
  /** Stored on every payment it makes, e.g. MANUAL or STRIPE (at most 32 characters). */
  readonly name: string;
  /** Whether the dunning worker calls collect (true), or the integrator's flow collects (false). */
  readonly collects: boolean;
  /** Charges an invoice's due amount once per attempt key. */
  collect(request: CollectRequest): Promise<CollectResult>;
  /** Gives money back from a payment it made; once per idempotency key. */
  refund(request: RefundRequest): Promise<RefundResult>;
  /** Charges a wallet's auto-recharge once per idempotency key (`recharge:<id>`); collecting providers only. */
  charge(request: ChargeRequest): Promise<CollectResult>;
  /**
   * Where a payment or charge it answered PENDING stands now, by its reference (a read: asking
   * twice changes nothing). Collecting providers only; throws when the provider cannot say (out
   * of reach, failing), and the question is asked again at the next pass.
   */
  status(reference: string): Promise<ProviderPaymentState>;
}

/** What a provider says of a payment it left PENDING: settled either way, or still pending. */
export type ProviderPaymentState = { status: 'SUCCEEDED' } | { status: 'FAILED'; failureReason: string } | { status: 'PENDING' };

/**
 * What a provider charges a customer by: its references at the provider (a Stripe customer and
 * default payment method). References only; no card data is ever stored or sent.
 */
export interface Payer {
  /** The provider the customer is with (customer.payment_provider). */
  provider: string;
  customerReference: string | null;
  paymentMethodReference: string | null;
}

export interface CollectRequest {
  invoiceId: string;
  invoiceNumber: string | null;
  customerId: string;
  currency: string;
  exponent: number;
  amount: bigint;
  /** 1 for the first attempt on the invoice. */
  attempt: number;
  /** `<invoiceId>:<attempt>`: the provider-side idempotency key of this attempt. */
  attemptKey: string;
  payer: Payer;
}

/** A wallet's auto-recharge: money for the wallet, charged off-session. */
export interface ChargeRequest {
  rechargeId: string;
  walletId: string;
  customerId: string;
  currency: string;
  exponent: number;
  /** Ledger units, whole minor units of the currency. */
  amount: bigint;
  /** `recharge:<rechargeId>`. */
  idempotencyKey: string;
  payer: Payer;
}

export type CollectResult =
  | { status: 'SUCCEEDED'; reference: string }
  | { status: 'FAILED'; reference: string | null; failureReason: string }
  /** The provider settles later and calls back with this reference. */
  | { status: 'PENDING'; reference: string };

export interface RefundRequest {
  paymentId: string;
  /** The provider's reference of the payment refunded. */
  paymentReference: string | null;
  /** The refund's own reference as the caller reported it (MANUAL: the integrator made it). */
  reference: string | null;
  currency: string;
  exponent: number;
  amount: bigint;
  idempotencyKey: string;
  reason: string | null;
}

export type RefundResult = { status: 'SUCCEEDED'; reference: string | null } | { status: 'FAILED'; failureReason: string } | { status: 'PENDING'; reference: string };

/** A provider's asynchronous outcome of a PENDING payment or refund. */
export interface Settlement {
  provider: string;
  reference: string;
  outcome: 'SUCCEEDED' | 'FAILED';
  failureReason?: string | null;
}
