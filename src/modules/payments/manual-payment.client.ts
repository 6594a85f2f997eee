import type { ChargeRequest, CollectRequest, CollectResult, PaymentProvider, ProviderPaymentState, RefundRequest, RefundResult } from './payment-provider.record.js';

export const MANUAL = 'MANUAL';

/**
 * The integrator's own payment flow: it collects and refunds, then reports each attempt
 * (`recordPaymentAttempt`) and refund (`refundPayment`). Nothing is called out to; collect is
 * never called by dunning (`collects: false`) and answers PENDING (the outcome is the
 * integrator's report), and a refund is recorded as done, since the integrator reports it once
 * made.
 */
export class ManualPaymentProvider implements PaymentProvider {
  readonly name = MANUAL;
  readonly collects = false;

  async collect(request: CollectRequest): Promise<CollectResult> {
    return { status: 'PENDING', reference: request.attemptKey };
  }

  async refund(request: RefundRequest): Promise<RefundResult> {
    return { status: 'SUCCEEDED', reference: request.reference };
  }

  /** Never asked: a MANUAL customer's auto-recharge is a request to the integrator (wallet.top_up_requested). */
  async charge(_request: ChargeRequest): Promise<CollectResult> {
    return { status: 'FAILED', reference: null, failureReason: 'manual_collection' };
  }

  /** Nothing to ask: the integrator's report is the outcome (and MANUAL leaves nothing PENDING to check). */
  async status(_reference: string): Promise<ProviderPaymentState> {
    return { status: 'PENDING' };
  }
}

/** The providers a deployment has, by name. A customer's is its payment_provider (MANUAL unless set). */
export class PaymentProviders {
  private readonly byName = new Map<string, PaymentProvider>();

  constructor(providers: PaymentProvider[]) {
    for (const p of providers) this.byName.set(p.name, p);
  }

  get(name: string): PaymentProvider | undefined {
    return this.byName.get(name);
  }

  /** Every provider's name. */
  get names(): string[] {
    return [...this.byName.keys()];
  }

  /** The providers the dunning worker asks to collect (the others' customers collect themselves). */
  get collecting(): string[] {
    return [...this.byName.values()].filter((p) => p.collects).map((p) => p.name);
  }
}
