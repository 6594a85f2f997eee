import type { DunningConfig } from '../../config/config.js';
import { isUniqueViolation, type SqlClient } from '../../db/sql.js';
import type { Clock } from '../../shared/clock.js';
import { AppError, ErrorCode, notFound, ValidationError } from '../../shared/errors.js';
import { isUuid, newId } from '../../shared/ids.js';
import type { Decimal } from '../../shared/money/decimal.js';
import { formatLedgerUnits, toLedgerUnits } from '../../shared/money/units.js';
import { Checker, checkAmount } from '../../shared/validation.js';
import type { CurrencyService } from '../currencies/index.js';
import { requestHash } from '../idempotency/index.js';
import { emitWebhook, type WebhookEmission } from '../webhooks/index.js';
import type { InvoiceRecord, InvoiceRepository } from '../invoices/index.js';
import { amountRemaining, MANUAL_RETRY_WINDOW_MS, withFailure, withMissedRetry, withNothingDue, withoutFirstAttempt, withPayment, withPending, withRefund, type Collected } from './collection.pure.js';
import { MANUAL, type PaymentProviders } from './manual-payment.client.js';
import { atScale } from './payment-events.pure.js';
import type { Payer, PaymentProvider, Settlement } from './payment-provider.record.js';
import { PaymentEffects, type Effects, type Emit, type StandingChange } from './payment-effects.service.js';
import { DunningPolicy, PaymentKind, PaymentOutcome, PaymentStatus, type CollectedInvoice, type PaymentRecord } from './payment.record.js';
import type { PaymentRepository } from './payment.repository.js';

/** How far ahead of our clock a payment's date may be: clock skew with the payment system. */
const PAID_AT_SKEW_MS = 5 * 60_000;

export interface RecordPaymentAttemptCommand {
  invoiceId: string;
  outcome: PaymentOutcome;
  /** What was collected (or tried); the amount due when absent. */
  amount?: Decimal | null;
  reference?: string | null;
  failureReason?: string | null;
  idempotencyKey: string;
}

export interface RefundPaymentCommand {
  paymentId: string;
  amount: Decimal;
  reason?: string | null;
  reference?: string | null;
  idempotencyKey: string;
}

export interface MarkInvoicePaidCommand {
  invoiceId: string;
  paidAt?: Date | null;
  paymentReference?: string | null;
}

export interface PaymentResult {
  payment: PaymentRecord;
  invoice: InvoiceRecord;
  replayed: boolean;
}

export interface RefundResult extends PaymentResult {
  /** The payment the refund gives money back from. */
  refunded: PaymentRecord;
}

/** A change inside the transaction: the row written, and what followed from it. */
interface Done {
  payment: PaymentRecord | null;
  effects: Effects;
}

const NOTHING: Effects = { announced: false, standing: null };

/**
 * Payments and refunds of invoices, and dunning: each in one transaction under the invoice's row
 * lock, which writes the payment, the invoice's collection state, the webhook deliveries that
 * announce it and, when an invoice becomes uncollectible or the last one is paid, the customer's
 * suspension. Idempotent on the caller's key: the payment row keeps it (unique) with the
 * request's fingerprint.
 */
export class PaymentService {
  private readonly effects: PaymentEffects;

  constructor(
    private readonly repo: PaymentRepository,
    /** On the write pool: a payment answers with the invoice it just changed. */
    private readonly invoices: InvoiceRepository,
    private readonly currencies: CurrencyService,
    private readonly providers: PaymentProviders,
    private readonly clock: Clock,
    private readonly config: DunningConfig,
    /** Reads for callers (an invoice's payments) go through a pool apart from the changes'. */
    private readonly reads: PaymentRepository = repo,
  ) {
    this.effects = new PaymentEffects(repo, invoices);
  }

  /** Told after commit when a customer was suspended or reinstated (cache, live push). */
  onStandingChanged(listener: (change: StandingChange) => void): void {
    this.effects.standingListeners.push(listener);
  }

  /** Told after commit when webhook deliveries were written. */
  onAnnounced(listener: () => void): void {
    this.effects.announcedListeners.push(listener);
  }

  /** Records an attempt the integrator's payment flow made (MANUAL): succeeded, or failed with a reason. */
  async recordAttempt(cmd: RecordPaymentAttemptCommand): Promise<PaymentResult> {
    const check = new Checker();
    const key = check.idempotencyKey('idempotencyKey', cmd.idempotencyKey);
    if (!Object.values(PaymentOutcome).includes(cmd.outcome)) check.fail('outcome', 'must be SUCCEEDED or FAILED');
    const amount = cmd.amount === null || cmd.amount === undefined ? null : checkAmount(check, 'amount', cmd.amount);
    const reference = check.text('reference', cmd.reference, { max: 200 }) ?? null;
    const failureReason = check.text('failureReason', cmd.failureReason, { max: 500, required: cmd.outcome === PaymentOutcome.FAILED }) ?? null;
    if (cmd.outcome === PaymentOutcome.SUCCEEDED && failureReason) check.fail('failureReason', 'is only given with outcome FAILED');
    check.done();
    const hash = requestHash({ operation: 'recordPaymentAttempt', invoiceId: cmd.invoiceId, outcome: cmd.outcome, amount, reference, failureReason });
    return this.idempotent(key!, hash, async (client, realNow) => {
      const inv = await this.collectable(client, cmd.invoiceId);
      const now = inv.clockTime ?? realNow;
      const units = await this.amountFor(inv, amount ?? null, 'amount');
      const succeeded = cmd.outcome === PaymentOutcome.SUCCEEDED;
      const payment = this.payment(inv, { kind: PaymentKind.PAYMENT, status: succeeded ? PaymentStatus.SUCCEEDED : PaymentStatus.FAILED, amount: units, provider: MANUAL, reference, failureReason, key: key!, hash, at: now });
      const collected = succeeded ? withPayment(inv, units, now, reference) : withFailure(inv, now, await this.freshSchedule(client, inv, MANUAL));
      return { payment, effects: await this.apply(client, inv, collected, payment, now) };
    });
  }

  /** Gives money back from a succeeded payment: at most what is left of it. */
  async refund(cmd: RefundPaymentCommand): Promise<RefundResult> {
    const check = new Checker();
    const key = check.idempotencyKey('idempotencyKey', cmd.idempotencyKey);
    const amount = checkAmount(check, 'amount', cmd.amount);
    const reason = check.text('reason', cmd.reason, { max: 500 }) ?? null;
    const reference = check.text('reference', cmd.reference, { max: 200 }) ?? null;
    check.done();
    const hash = requestHash({ operation: 'refundPayment', paymentId: cmd.paymentId, amount, reason, reference });
    const result = await this.idempotent(key!, hash, async (client, now) => {
      const paid = isUuid(cmd.paymentId) ? await this.repo.lockPayment(client, cmd.paymentId) : null;
      if (!paid) throw notFound('payment', cmd.paymentId);
      if (paid.kind !== PaymentKind.PAYMENT || paid.status !== PaymentStatus.SUCCEEDED) {
        throw new ValidationError([{ path: 'paymentId', message: `only a succeeded payment can be refunded (this is a ${paid.status} ${paid.kind})` }]);
      }
      const inv = (await this.repo.lockInvoice(client, paid.invoiceId))!;
      const units = await this.inMinorUnits(inv, amount!, 'amount');
      const left = paid.amount - (await this.repo.refunded(client, paid.id));
      if (units > left) throw new ValidationError([{ path: 'amount', message: `must not exceed what is left to refund of the payment: ${formatLedgerUnits(left)} ${inv.currency}` }]);
      const provider = this.providers.get(paid.provider) ?? this.providers.get(MANUAL)!;
      const exponent = await this.exponent(inv.currency);
      const outcome = await provider.refund({ paymentId: paid.id, paymentReference: paid.providerReference, reference, currency: inv.currency, exponent, amount: units, idempotencyKey: key!, reason });
      const status = outcome.status === 'SUCCEEDED' ? PaymentStatus.SUCCEEDED : outcome.status === 'PENDING' ? PaymentStatus.PENDING : PaymentStatus.FAILED;
      const refund = this.payment(inv, {
        kind: PaymentKind.REFUND, status, amount: units, provider: provider.name, reference: outcome.status === 'FAILED' ? reference : outcome.reference,
        failureReason: outcome.status === 'FAILED' ? outcome.failureReason : null, key: key!, hash, at: now, refunds: paid.id, reason,
      });
      await this.repo.insert(client, refund);
      if (status === PaymentStatus.SUCCEEDED) await this.repo.saveInvoice(client, inv.id, withRefund(inv, units).state, now);
      return { payment: refund, effects: NOTHING };
    });
    return { ...result, refunded: (await this.repo.get(result.payment.refundsPaymentId!))! };
  }

  /**
   * Marks an invoice paid in full: a MANUAL payment of what remains, dated paidAt. Repeating it
   * with the same reference is a no-op; with another reference, CONFLICT.
   */
  async markPaid(cmd: MarkInvoicePaidCommand): Promise<InvoiceRecord> {
    const check = new Checker();
    const reference = check.text('paymentReference', cmd.paymentReference, { max: 200 }) ?? null;
    const now = this.clock.now();
    // A payment may be dated before its invoice was finalized (a draft paid during its grace
    // period), never ahead of our clock by more than the skew with the payment system's.
    if (cmd.paidAt && cmd.paidAt.getTime() > now.getTime() + PAID_AT_SKEW_MS) check.fail('paidAt', 'must not be in the future (more than 5 minutes ahead of the server clock)');
    check.done();
    if (!isUuid(cmd.invoiceId)) throw notFound('invoice', cmd.invoiceId);
    await this.inTransaction(async (client) => {
      const inv = await this.repo.lockInvoice(client, cmd.invoiceId);
      if (!inv) throw notFound('invoice', cmd.invoiceId);
      if (inv.status === 'PAID' && inv.paymentReference === reference) return { payment: null, effects: NOTHING };
      if (inv.status !== 'FINALIZED' && inv.status !== 'UNCOLLECTIBLE') {
        throw new AppError(ErrorCode.CONFLICT, `a ${inv.status} invoice cannot be marked paid${inv.status === 'PAID' ? ' again with another reference' : ''}`);
      }
      const at = cmd.paidAt ?? inv.clockTime ?? now;
      const remaining = amountRemaining(inv);
      const payment =
        remaining > 0n
          ? this.payment(inv, { kind: PaymentKind.PAYMENT, status: PaymentStatus.SUCCEEDED, amount: remaining, provider: MANUAL, reference, failureReason: null, key: `invoice-paid:${inv.id}`, hash: requestHash({ operation: 'markInvoicePaid', invoiceId: inv.id }), at })
          : null;
      // Nothing to collect (a credit, or prepaid in full): paid without a payment.
      const collected = payment ? withPayment(inv, remaining, at, reference) : withNothingDue(inv, at, reference);
      return { payment, effects: await this.apply(client, inv, collected, payment, inv.clockTime ?? now) };
    });
    return (await this.invoices.get(cmd.invoiceId))!;
  }

  /**
   * A provider's asynchronous outcome of a PENDING payment or refund (its webhook). Applied once:
   * a callback repeated after the first is answered with the settled row.
   */
  async settle(s: Settlement): Promise<PaymentRecord> {
    let id: string | null = null;
    await this.inTransaction(async (client, now) => {
      const pending = await this.repo.lockPending(client, s.provider, s.reference);
      if (!pending) return { payment: null, effects: NOTHING };
      id = pending.id;
      const failed = s.outcome === 'FAILED';
      const failureReason = failed ? (s.failureReason ?? 'declined') : null;
      await this.repo.settle(client, pending.id, s.outcome, failureReason, now);
      const settled: PaymentRecord = { ...pending, status: s.outcome, failureReason };
      const inv = (await this.repo.lockInvoice(client, pending.invoiceId))!;
      if (pending.kind === PaymentKind.REFUND) {
        if (!failed) await this.repo.saveInvoice(client, inv.id, withRefund(inv, pending.amount).state, now);
        return { payment: settled, effects: NOTHING };
      }
      // The attempt was counted when it went pending.
      const counted = { ...inv, paymentAttempts: inv.paymentAttempts - 1 };
      const collected = failed ? withFailure(counted, now, await this.freshSchedule(client, inv, pending.provider)) : withPayment(counted, pending.amount, now, s.reference);
      return { payment: settled, effects: await this.apply(client, inv, collected, settled, now, false) };
    });
    const settled = id ? await this.repo.get(id) : await this.repo.byReference(s.provider, s.reference);
    if (!settled) throw notFound('payment', `${s.provider}:${s.reference}`);
    return settled;
  }

  /**
   * One dunning step on an invoice whose next attempt is due (the worker's): a provider that
   * collects is asked to collect, with the attempt's key; for MANUAL, a retry day that passed
   * without a report moves the invoice to the next one, or makes it UNCOLLECTIBLE after the
   * last. Until a first failure fixes the schedule, the provider is the customer's: the first
   * attempt, due from finalization, is made by the provider the customer has then. Rechecked
   * under the invoice's lock, so a step runs once however many workers see it.
   */
  async advance(invoiceId: string, at?: Date): Promise<boolean> {
    let moved = false;
    await this.inTransaction(async (client, now) => {
      const inv = await this.repo.lockInvoice(client, invoiceId);
      if (!inv || inv.status !== 'FINALIZED' || !inv.nextPaymentAttemptAt) return { payment: null, effects: NOTHING };
      const payer = await this.repo.payer(client, inv.customerId);
      const provider = this.providers.get(inv.dunning?.provider ?? payer.provider);
      if (!provider?.collects) {
        const collected = inv.dunning ? withMissedRetry(inv, now) : withoutFirstAttempt(inv);
        if (!collected) return { payment: null, effects: NOTHING };
        moved = true;
        return { payment: null, effects: await this.apply(client, inv, collected, null, now) };
      }
      if (inv.nextPaymentAttemptAt.getTime() > now.getTime()) return { payment: null, effects: NOTHING };
      const attempt = inv.paymentAttempts + 1;
      const amount = amountRemaining(inv);
      const result = await provider.collect({
        invoiceId: inv.id, invoiceNumber: inv.number, customerId: inv.customerId, currency: inv.currency, exponent: await this.exponent(inv.currency),
        amount, attempt, attemptKey: `${inv.id}:${attempt}`, payer,
      });
      const status = result.status === 'SUCCEEDED' ? PaymentStatus.SUCCEEDED : result.status === 'PENDING' ? PaymentStatus.PENDING : PaymentStatus.FAILED;
      const failureReason = result.status === 'FAILED' ? result.failureReason : null;
      const payment = this.payment(inv, { kind: PaymentKind.PAYMENT, status, amount, provider: provider.name, reference: result.reference, failureReason, key: `dunning:${inv.id}:${attempt}`, hash: requestHash({ operation: 'collect', invoiceId: inv.id, attempt }), at: now });
      const collected = status === PaymentStatus.SUCCEEDED ? withPayment(inv, amount, now, result.reference) : status === PaymentStatus.PENDING ? withPending(inv) : withFailure(inv, now, await this.freshSchedule(client, inv, provider.name));
      moved = true;
      return { payment, effects: await this.apply(client, inv, collected, payment, now) };
    }, at);
    return moved;
  }

  // ── for a wallet's auto-recharge (the recharges module) ────────────────────────────────────

  /** Who collects a customer's money, and the provider's references to charge it. */
  payer(customerId: string): Promise<Payer> {
    return this.repo.payer(null, customerId);
  }

  /** A provider this deployment has, by name. */
  provider(name: string): PaymentProvider | undefined {
    return this.providers.get(name);
  }

  /** Counts, in a transaction about to reinstate a customer, other reasons it stays suspended. */
  addSuspensionCause(cause: (client: SqlClient, customerId: string) => Promise<number>): void {
    this.effects.suspensionCauses.push(cause);
  }

  /** Suspends a customer in the caller's transaction (customer.suspended); `subject` is what it is for. Pass the result to `committed`. */
  async suspendIn(client: SqlClient, customerId: string, reason: string, subject: string, now: Date): Promise<Effects> {
    const out: Effects = { announced: false, standing: null };
    out.standing = await this.effects.suspend(client, customerId, reason, subject, now, this.emitter(client, now, out));
    return out;
  }

  /** Reinstates a suspended customer in the caller's transaction when nothing that suspends is left. Pass the result to `committed`. */
  async reinstateIn(client: SqlClient, customerId: string, by: string, now: Date): Promise<Effects> {
    const out: Effects = { announced: false, standing: null };
    out.standing = await this.effects.reinstate(client, customerId, by, now, this.emitter(client, now, out));
    return out;
  }

  /** Tells the listeners (usage cache, live pushes, webhook worker) what a committed transaction did. */
  committed(effects: Effects): void {
    this.effects.committed(effects);
  }

  private emitter(client: SqlClient, now: Date, out: Effects): Emit {
    return async (e) => {
      await emitWebhook(client, { ...e, at: now } as WebhookEmission);
      out.announced = true;
    };
  }

  /** Invoices whose next attempt is due now. */
  /** Live customers' invoices due now; or, with a test clock, its customers' invoices due at its time. */
  due(limit: number, testClock: { id: string; at: Date } | null = null): Promise<string[]> {
    return this.repo.due(testClock?.at ?? this.clock.now(), this.providers.collecting, MANUAL_RETRY_WINDOW_MS, limit, testClock?.id ?? null);
  }

  /** The providers that collect by themselves (the others' customers collect and report). */
  get collecting(): string[] {
    return this.providers.collecting;
  }

  /**
   * Payments a collecting provider has left PENDING for the pending check window
   * (PAYMENT_PENDING_CHECK_MINUTES) or longer since it was last asked: their webhook is late,
   * or lost. The worker asks about each (checkPending).
   */
  pendingToCheck(limit: number): Promise<Array<{ provider: string; reference: string }>> {
    return this.repo.pendingUnchecked(this.providers.collecting, new Date(this.clock.now().getTime() - this.config.pendingCheckMs), limit);
  }

  /**
   * Asks the provider where a PENDING payment stands and applies a final answer through `settle`,
   * the webhook's own path (once: a webhook that arrives as well, before or after, changes
   * nothing more). Still pending: asked again a window later. A provider that cannot say throws,
   * and the next pass asks again. True when the answer was final.
   */
  async checkPending(p: { provider: string; reference: string }): Promise<boolean> {
    return this.askProvider(p, (now) => this.repo.checkedPending(p.provider, p.reference, now), (s) => this.settle(s));
  }

  /**
   * The pending check of any charge at a collecting provider (an invoice's payment here, a
   * wallet's recharge in the recharges module): asks the provider, marks the charge checked
   * (`stillPending`) while it is pending, or applies the final answer (`settle`, the path the
   * provider's webhook takes). True when the answer was final.
   */
  async askProvider(p: { provider: string; reference: string }, stillPending: (now: Date) => Promise<void>, settle: (s: Settlement) => Promise<unknown>): Promise<boolean> {
    const provider = this.providers.get(p.provider);
    if (!provider?.collects) return false;
    const state = await provider.status(p.reference);
    if (state.status === 'PENDING') {
      await stillPending(this.clock.now());
      return false;
    }
    await settle({ provider: p.provider, reference: p.reference, outcome: state.status, failureReason: state.status === 'FAILED' ? state.failureReason : null });
    return true;
  }

  /** One payment or refund by id; null for an unknown or malformed id. */
  findPayment(id: string): Promise<PaymentRecord | null> {
    return isUuid(id) ? this.reads.get(id) : Promise.resolve(null);
  }

  /** Payments and refunds of invoices, oldest first; `fresh`: as the primary has them (a mutation's answer). */
  ofInvoices(invoiceIds: string[], fresh = false): Promise<PaymentRecord[]> {
    return (fresh ? this.repo : this.reads).ofInvoices(invoiceIds);
  }

  // ── inside the transaction ─────────────────────────────────────────────────────────────────

  /** Writes the payment (if any) and the invoice's new state, then announces and suspends. */
  private async apply(client: SqlClient, inv: CollectedInvoice, collected: Collected, payment: PaymentRecord | null, now: Date, insert = true): Promise<Effects> {
    if (payment && insert) await this.repo.insert(client, payment);
    await this.repo.saveInvoice(client, inv.id, collected.state, now);
    return this.effects.after(client, inv, collected, payment, now);
  }

  /** The invoice, locked; refused when it cannot take a payment. */
  private async collectable(client: SqlClient, invoiceId: string): Promise<CollectedInvoice> {
    const inv = isUuid(invoiceId) ? await this.repo.lockInvoice(client, invoiceId) : null;
    if (!inv) throw notFound('invoice', invoiceId);
    const refused: Record<string, string> = {
      DRAFT: 'is a DRAFT: payments are recorded once it is finalized',
      VOID: 'is void',
      PAID: 'is already paid',
    };
    if (refused[inv.status]) throw new ValidationError([{ path: 'invoiceId', message: refused[inv.status]! }]);
    if (amountRemaining(inv) <= 0n) throw new ValidationError([{ path: 'invoiceId', message: 'has nothing left to pay' }]);
    return inv;
  }

  /** The amount given, or what remains: in whole minor units of the currency, at most what remains. */
  private async amountFor(inv: CollectedInvoice, amount: Decimal | null, path: string): Promise<bigint> {
    const remaining = amountRemaining(inv);
    if (amount === null) return remaining;
    const units = await this.inMinorUnits(inv, amount, path);
    if (units > remaining) throw new ValidationError([{ path, message: `must not exceed the amount due, ${atScale(remaining, await this.exponent(inv.currency))} ${inv.currency}` }]);
    return units;
  }

  private async inMinorUnits(inv: CollectedInvoice, amount: Decimal, path: string): Promise<bigint> {
    const exponent = await this.exponent(inv.currency);
    if (amount.decimalPlaces() > exponent) throw new ValidationError([{ path, message: `must have at most ${exponent} decimal places in ${inv.currency}` }]);
    return toLedgerUnits(amount);
  }

  private async exponent(currency: string): Promise<number> {
    return (await this.currencies.exponentOf(currency)) ?? 2;
  }

  /** The schedule a first failure fixes: the plan's retry days (or the global ones) and policy. */
  private async freshSchedule(client: SqlClient, inv: CollectedInvoice, provider: string) {
    const plan = await this.repo.planDunning(client, inv.customerId, inv.periodEnd);
    return { retryDays: plan?.retryDays ?? this.config.retryDays, policy: plan?.policy ?? DunningPolicy.NONE, provider };
  }

  private payment(
    inv: CollectedInvoice,
    p: { kind: PaymentKind; status: PaymentStatus; amount: bigint; provider: string; reference: string | null; failureReason: string | null; key: string; hash: string; at: Date; refunds?: string; reason?: string | null },
  ): PaymentRecord {
    const now = this.clock.now();
    return {
      id: newId(now.getTime()),
      invoiceId: inv.id,
      customerId: inv.customerId,
      kind: p.kind,
      status: p.status,
      amount: p.amount,
      currency: inv.currency,
      provider: p.provider,
      providerReference: p.reference,
      attempt: p.kind === PaymentKind.PAYMENT ? inv.paymentAttempts + 1 : null,
      failureReason: p.failureReason,
      refundsPaymentId: p.refunds ?? null,
      reason: p.reason ?? null,
      idempotencyKey: p.key,
      requestHash: p.hash,
      occurredAt: p.at,
      createdAt: now,
      updatedAt: now,
    };
  }

  // ── transactions ──────────────────────────────────────────────────────────────────────────

  /**
   * Runs a keyed change: a key seen before answers with its payment (the same request) or is
   * IDEMPOTENCY_KEY_REUSED (another). Two requests racing on one key: the loser's insert hits the
   * unique key, and it answers as a retry.
   */
  private async idempotent(key: string, hash: string, change: (client: SqlClient, now: Date) => Promise<Done>): Promise<PaymentResult> {
    for (let round = 0; ; round++) {
      try {
        let replayed: PaymentRecord | null = null;
        const done = await this.inTransaction(async (client, now) => {
          const earlier = await this.repo.byKey(client, key);
          if (earlier) {
            if (earlier.requestHash !== hash) throw new AppError(ErrorCode.IDEMPOTENCY_KEY_REUSED, `idempotency key ${JSON.stringify(key)} was already used for a different payment request`, { key });
            replayed = earlier;
            return { payment: null, effects: NOTHING };
          }
          return change(client, now);
        });
        const payment = (replayed ?? done.payment)!;
        return { payment, invoice: (await this.invoices.get(payment.invoiceId))!, replayed: replayed !== null };
      } catch (err) {
        if (round === 0 && isUniqueViolation(err, 'payment_idempotency_key')) continue;
        throw err;
      }
    }
  }

  /** `at`: the time the change happens at, when not now (a test clock's). */
  private async inTransaction(change: (client: SqlClient, now: Date) => Promise<Done>, at?: Date): Promise<Done> {
    const done = await this.repo.transaction((client) => change(client, at ?? this.clock.now()));
    this.effects.committed(done.effects);
    return done;
  }
}
