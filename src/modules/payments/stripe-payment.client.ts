import Stripe from 'stripe';
import type { StripeConfig } from '../../config/config.js';
import { AppError, ErrorCode } from '../../shared/errors.js';
import { toMinorUnits } from './minor-units.pure.js';
import type { ChargeRequest, CollectRequest, CollectResult, Payer, PaymentProvider, ProviderPaymentState, RefundRequest, RefundResult } from './payment-provider.record.js';

export const STRIPE = 'STRIPE';

/** How long one call to Stripe may take before it is given up (and retried with the same key). */
const TIMEOUT_MS = 30_000;

/**
 * What an event from Stripe means here: a PaymentIntent or a refund settled (its id is the
 * reference our payment or recharge was recorded with), or nothing we act on. `ours` says whether
 * the PaymentIntent carries our metadata (an invoice attempt or a recharge): such an event about
 * a payment not recorded yet is answered with a retry, not ignored.
 */
export type StripeNotice =
  | { kind: 'payment'; reference: string; outcome: 'SUCCEEDED' | 'FAILED'; failureReason: string | null; rechargeId: string | null; ours: boolean }
  | { kind: 'refund'; reference: string; outcome: 'SUCCEEDED' | 'FAILED'; failureReason: string | null; ours: boolean }
  | { kind: 'ignored'; type: string };

/**
 * Stripe, with the official library: a due invoice (or a wallet's auto-recharge) is charged with
 * an off-session PaymentIntent on the customer's default payment method, confirmed at once, with
 * the attempt's key as Stripe's idempotency key, so a call repeated after a crash or a timeout
 * charges once. Amounts go out in minor units, converted exactly from ledger units. Only the
 * references of the Stripe customer and payment method are used; no card data passes here.
 *
 * The answer is final when the PaymentIntent succeeded or was declined; `processing` (a bank
 * debit) is PENDING, settled later by Stripe's webhook (`notice`), or, when that is late, by
 * asking for the PaymentIntent (`status`). Network failures, Stripe
 * errors of its own (5xx, rate limits) and a wrong key throw: the caller's transaction rolls back
 * and the attempt is made again with the same key.
 */
export class StripePaymentProvider implements PaymentProvider {
  readonly name = STRIPE;
  readonly collects = true;
  private readonly stripe: Stripe;

  constructor(private readonly config: StripeConfig) {
    this.stripe = new Stripe(config.secretKey, {
      maxNetworkRetries: 2,
      timeout: TIMEOUT_MS,
      telemetry: false,
      ...(config.api ? { host: config.api.host, port: config.api.port, protocol: config.api.protocol } : {}),
    });
  }

  collect(r: CollectRequest): Promise<CollectResult> {
    return this.paymentIntent(r.payer, r.amount, r.currency, r.exponent, r.attemptKey, `Invoice ${r.invoiceNumber ?? r.invoiceId}`, {
      invoiceId: r.invoiceId,
      attempt: String(r.attempt),
    });
  }

  charge(r: ChargeRequest): Promise<CollectResult> {
    return this.paymentIntent(r.payer, r.amount, r.currency, r.exponent, r.idempotencyKey, 'Wallet auto-recharge', { rechargeId: r.rechargeId, walletId: r.walletId });
  }

  async refund(r: RefundRequest): Promise<RefundResult> {
    if (!r.paymentReference?.startsWith('pi_')) return { status: 'FAILED', failureReason: 'the payment has no Stripe PaymentIntent to refund' };
    try {
      const refund = await this.stripe.refunds.create(
        { payment_intent: r.paymentReference, amount: toMinorUnits(r.amount, r.exponent), metadata: { paymentId: r.paymentId } },
        { idempotencyKey: r.idempotencyKey },
      );
      if (refund.status === 'succeeded') return { status: 'SUCCEEDED', reference: refund.id };
      if (refund.status === 'failed' || refund.status === 'canceled') return { status: 'FAILED', failureReason: refund.failure_reason ?? refund.status };
      return { status: 'PENDING', reference: refund.id };
    } catch (err) {
      if (err instanceof Stripe.errors.StripeInvalidRequestError || err instanceof Stripe.errors.StripeCardError) return { status: 'FAILED', failureReason: err.code ?? err.message };
      throw unavailable(err);
    }
  }

  /**
   * Where a PaymentIntent left `processing` stands, read back from Stripe: `succeeded`, still
   * `processing`, or anything else (a bank debit that failed is back to
   * `requires_payment_method`, with the decline) failed, as `collect` reads its answer. Stripe out
   * of reach or failing throws SERVICE_UNAVAILABLE; an id Stripe does not know throws as is.
   */
  async status(reference: string): Promise<ProviderPaymentState> {
    try {
      const pi = await this.stripe.paymentIntents.retrieve(reference);
      if (pi.status === 'succeeded') return { status: 'SUCCEEDED' };
      if (pi.status === 'processing') return { status: 'PENDING' };
      return { status: 'FAILED', failureReason: declineOf(pi.last_payment_error) ?? pi.status };
    } catch (err) {
      throw unavailable(err);
    }
  }

  /**
   * Verifies an event Stripe sent (the raw body and its Stripe-Signature header) with the
   * library, and says what it settles. A bad or missing signature, or one older than the
   * library's tolerance, throws.
   */
  notice(payload: Buffer, signature: string | undefined): StripeNotice {
    const event = this.stripe.webhooks.constructEvent(payload, signature ?? '', this.config.webhookSecret);
    switch (event.type) {
      case 'payment_intent.succeeded':
      case 'payment_intent.payment_failed': {
        const pi = event.data.object;
        const failed = event.type === 'payment_intent.payment_failed';
        return {
          kind: 'payment',
          reference: pi.id,
          outcome: failed ? 'FAILED' : 'SUCCEEDED',
          failureReason: failed ? declineOf(pi.last_payment_error) : null,
          rechargeId: pi.metadata?.rechargeId ?? null,
          ours: !!(pi.metadata?.invoiceId || pi.metadata?.rechargeId),
        };
      }
      case 'refund.updated':
      case 'refund.failed': {
        const refund = event.data.object;
        const ours = !!refund.metadata?.paymentId;
        if (refund.status === 'succeeded') return { kind: 'refund', reference: refund.id, outcome: 'SUCCEEDED', failureReason: null, ours };
        if (refund.status === 'failed' || refund.status === 'canceled') return { kind: 'refund', reference: refund.id, outcome: 'FAILED', failureReason: refund.failure_reason ?? refund.status, ours };
        return { kind: 'ignored', type: event.type };
      }
      default:
        return { kind: 'ignored', type: event.type };
    }
  }

  private async paymentIntent(payer: Payer, amount: bigint, currency: string, exponent: number, key: string, description: string, metadata: Record<string, string>): Promise<CollectResult> {
    if (!payer.customerReference || !payer.paymentMethodReference) return { status: 'FAILED', reference: null, failureReason: 'no_payment_method' };
    try {
      const pi = await this.stripe.paymentIntents.create(
        {
          amount: toMinorUnits(amount, exponent),
          currency: currency.toLowerCase(),
          customer: payer.customerReference,
          payment_method: payer.paymentMethodReference,
          off_session: true,
          confirm: true,
          description,
          metadata,
        },
        { idempotencyKey: key },
      );
      if (pi.status === 'succeeded') return { status: 'SUCCEEDED', reference: pi.id };
      if (pi.status === 'processing') return { status: 'PENDING', reference: pi.id };
      return { status: 'FAILED', reference: pi.id, failureReason: declineOf(pi.last_payment_error) ?? pi.status };
    } catch (err) {
      // A decline (402) carries the PaymentIntent it left requiring a payment method; a request
      // Stripe refuses (a payment method detached, a currency it does not take) fails the attempt.
      if (err instanceof Stripe.errors.StripeCardError) return { status: 'FAILED', reference: err.payment_intent?.id ?? null, failureReason: err.decline_code ?? err.code ?? 'card_error' };
      if (err instanceof Stripe.errors.StripeInvalidRequestError) return { status: 'FAILED', reference: err.payment_intent?.id ?? null, failureReason: err.code ?? 'invalid_request' };
      throw unavailable(err);
    }
  }
}

/**
 * Stripe out of reach, failing on its side or limiting our rate: nothing was decided, and the
 * same request (with the same key) may be sent again; a refund asked through the API answers
 * SERVICE_UNAVAILABLE, which is retryable. Anything else (a wrong key) is ours to fix: as is.
 */
function unavailable(err: unknown): unknown {
  const transient = err instanceof Stripe.errors.StripeConnectionError || err instanceof Stripe.errors.StripeAPIError || err instanceof Stripe.errors.StripeRateLimitError;
  return transient ? new AppError(ErrorCode.SERVICE_UNAVAILABLE, 'the payment provider (Stripe) did not answer; retry with the same idempotency key, which Stripe honours once', { provider: STRIPE }) : err;
}

/** The decline code (card_declined's reason, e.g. insufficient_funds), else the error code. */
function declineOf(error: { decline_code?: string; code?: string } | null | undefined): string | null {
  return error?.decline_code ?? error?.code ?? null;
}
