import type { SqlClient } from '../../db/sql.js';
import type { Clock } from '../../shared/clock.js';
import { formatLedgerUnits, fromLedgerUnits } from '../../shared/money/units.js';
import { recordRechargeFailure, RechargeFailurePolicy, type AlertRecord } from '../alerts/index.js';
import type { CurrencyService } from '../currencies/index.js';
import { ceilToMinorUnits, type CollectResult, type PaymentEffectsDone, type PaymentService, type Settlement } from '../payments/index.js';
import type { AppendResult, WalletService } from '../wallets/index.js';
import { emitWebhook, webhookEventId, WebhookTopic } from '../webhooks/index.js';
import type { RechargeRecord } from './recharge.record.js';
import type { RechargeRepository } from './recharge.repository.js';

/** What one recharge's transaction did, told after its commit. */
interface Done {
  alerts: AlertRecord[];
  standing: PaymentEffectsDone | null;
  announced: boolean;
}

/**
 * Wallets' auto-recharges. A crossing of a wallet's auto-recharge threshold records a recharge
 * IN_FLIGHT in the transaction that crossed it (alert_evaluate; at most one in flight per
 * wallet). Each is then charged once: under its row's lock, the customer's provider is asked to
 * charge the amount (rounded up to whole minor units) with the key `recharge:<id>`, and in the
 * same transaction
 *
 * - on success the wallet is topped up through topUpWallet's idempotent path, keyed by the
 *   payment's reference (a charge tops up once, whatever runs it again), the recharge records
 *   the payment and the ledger entry, and wallet.recharge_succeeded is written; a customer a
 *   failed recharge suspended is reinstated once nothing else suspends it;
 * - on failure the recharge records why, an alert of the auto-recharge is recorded (and pushed),
 *   wallet.recharge_failed is written, and the wallet's policy applies (SUSPEND: the customer is
 *   suspended as for an uncollectible invoice, if the wallet is still below the threshold; a
 *   later successful recharge of the wallet, or a top-up or grant that brings its available
 *   balance back to the threshold, reinstates it once nothing else suspends it);
 * - a charge the provider settles later (PENDING) waits for its webhook (`settle`); one still
 *   pending after the pending check window is asked about (`checkPending`) and settled the same
 *   way, so a lost webhook does not keep the wallet's recharge in flight (and every further one
 *   of the wallet waiting) for ever.
 *
 * A crash after the provider's answer and before the commit runs the charge again with the same
 * key: the provider answers as the first time, and nothing is charged or topped up twice.
 */
export class RechargeService {
  private readonly alertListeners: Array<(alerts: AlertRecord[]) => void> = [];
  private readonly announcedListeners: Array<() => void> = [];

  constructor(
    private readonly repo: RechargeRepository,
    private readonly wallets: WalletService,
    private readonly payments: PaymentService,
    private readonly currencies: CurrencyService,
    private readonly clock: Clock,
    /** How long a charge stays pending before its provider is asked (PAYMENT_PENDING_CHECK_MINUTES). */
    private readonly pendingCheckMs: number,
  ) {}

  /** Told after commit about the alerts of failed recharges (live pushes). */
  onAlerts(listener: (alerts: AlertRecord[]) => void): void {
    this.alertListeners.push(listener);
  }

  /** Told after commit when webhook events were written. */
  onAnnounced(listener: () => void): void {
    this.announcedListeners.push(listener);
  }

  /** Recharges waiting for their charge. */
  due(limit: number): Promise<string[]> {
    return this.repo.due(limit);
  }

  /** Charges one recharge waiting for it; false when it is not waiting (any more) or another instance has it. */
  async charge(id: string): Promise<boolean> {
    let done: Done | null = null;
    await this.wallets.inLedgerTransaction(async (client, appended) => {
      done = null;
      const r = await this.repo.lockDue(client, id);
      if (!r) return;
      const now = this.clock.now();
      const payer = await this.payments.payer(r.customerId);
      const provider = this.payments.provider(payer.provider);
      if (!provider?.collects) {
        // The customer moved to a provider that does not collect after the crossing: nothing was charged.
        const failed: CollectResult = { status: 'FAILED', reference: null, failureReason: 'no_collecting_provider' };
        done = await this.complete(client, appended, r, failed, payer.provider, now, false);
        return;
      }
      const exponent = (await this.currencies.exponentOf(r.currency)) ?? 2;
      const amount = ceilToMinorUnits(r.amount, exponent);
      if (amount !== r.amount) await this.repo.setAmount(client, r.id, amount, now);
      const result = await provider.charge({ rechargeId: r.id, walletId: r.walletId, customerId: r.customerId, currency: r.currency, exponent, amount, idempotencyKey: `recharge:${r.id}`, payer });
      done = await this.complete(client, appended, { ...r, amount }, result, provider.name, now, true);
    });
    if (done) this.committed(done);
    return done !== null;
  }

  /**
   * A provider's asynchronous outcome of a recharge it left pending (its webhook), applied once;
   * false when no recharge has that reference.
   */
  async settle(s: Settlement): Promise<boolean> {
    let found = false;
    let done: Done | null = null;
    await this.wallets.inLedgerTransaction(async (client, appended) => {
      done = null;
      const r = await this.repo.lockPending(client, s.provider, s.reference);
      if (!r) {
        found = (await this.repo.byReference(client, s.provider, s.reference)) !== null;
        return;
      }
      found = true;
      const result: CollectResult = s.outcome === 'SUCCEEDED' ? { status: 'SUCCEEDED', reference: s.reference } : { status: 'FAILED', reference: s.reference, failureReason: s.failureReason ?? 'declined' };
      done = await this.complete(client, appended, r, result, s.provider, this.clock.now(), true);
    });
    if (done) this.committed(done);
    return found;
  }

  /** Charges a collecting provider has left pending for the window or longer since it was last asked. */
  pendingToCheck(limit: number): Promise<Array<{ provider: string; reference: string }>> {
    return this.repo.pendingUnchecked(this.payments.collecting, new Date(this.clock.now().getTime() - this.pendingCheckMs), limit);
  }

  /**
   * Asks the provider where a pending charge stands and applies a final answer through `settle`,
   * the webhook's own path (once: the wallet is topped up once whichever comes first). Still
   * pending: asked again a window later. A provider that cannot say throws, and the next pass
   * asks again. True when the answer was final.
   */
  async checkPending(p: { provider: string; reference: string }): Promise<boolean> {
    return this.payments.askProvider(p, (now) => this.repo.checkedPending(p.provider, p.reference, now), (s) => this.settle(s));
  }

  /**
   * Failed recharges that keep the customer suspended: those whose policy is SUSPEND, until a
   * later one of the wallet succeeds or the wallet's available balance is back at or above the
   * threshold (a top-up, a grant).
   */
  suspending(client: SqlClient, customerId: string): Promise<number> {
    return this.repo.suspending(client, customerId);
  }

  /**
   * In the transaction of a top-up or grant of a wallet (WalletService.onCredited): when a failed
   * recharge of the wallet may be what suspended its customer, the customer is reinstated if
   * nothing suspends it any more (reinstateIn: the wallet's available balance back at or above
   * the threshold, no other failed recharge and no uncollectible invoice of a suspending plan).
   * Any other wallet's money, and a customer suspended for an unpaid invoice, are left alone.
   * Pass the result to the payments' `committed` once the transaction has.
   */
  async creditedIn(client: SqlClient, walletId: string, by: string, now: Date): Promise<PaymentEffectsDone | null> {
    const customerId = await this.repo.suspendedBy(client, walletId);
    if (!customerId) return null;
    const effects = await this.payments.reinstateIn(client, customerId, by, now);
    return effects.standing || effects.announced ? effects : null;
  }

  private async complete(client: SqlClient, appended: AppendResult[], r: RechargeRecord, result: CollectResult, provider: string, now: Date, policy: boolean): Promise<Done> {
    const done: Done = { alerts: [], standing: null, announced: false };
    if (result.status === 'PENDING') {
      await this.repo.pending(client, r.id, provider, result.reference, now);
      return done;
    }
    const amount = formatLedgerUnits(r.amount);
    const createdAt = r.createdAt.toISOString();
    if (result.status === 'SUCCEEDED') {
      const moved = await this.wallets.topUpIn(client, appended, {
        walletId: r.walletId,
        amount: fromLedgerUnits(r.amount),
        idempotencyKey: result.reference,
        reference: result.reference,
        description: 'Auto-recharge',
      });
      await this.repo.succeed(client, r.id, { provider, reference: result.reference, entryId: moved.entryId, now });
      const wallet = { ...(await this.repo.wallet(client, r.walletId)), balance: formatLedgerUnits(moved.balanceAfter) };
      const topic = WebhookTopic.WALLET_RECHARGE_SUCCEEDED;
      await emitWebhook(client, { topic, eventId: webhookEventId(topic, r.id), at: now, data: { wallet, recharge: { id: r.id, amount, entryId: moved.entryId, paymentReference: result.reference, createdAt } } });
      done.announced = true;
      done.standing = await this.payments.reinstateIn(client, r.customerId, r.id, now);
      return done;
    }
    const message = `${provider} did not charge ${amount} ${r.currency} for the auto-recharge: ${result.failureReason}`;
    await this.repo.fail(client, r.id, { provider, reference: result.reference, code: result.failureReason, message, now });
    done.alerts.push(await recordRechargeFailure(client, r.definitionId, { name: `Auto-recharge failed: ${result.failureReason}`.slice(0, 200), value: r.available, amount, at: now }));
    const w = await this.repo.wallet(client, r.walletId);
    const topic = WebhookTopic.WALLET_RECHARGE_FAILED;
    await emitWebhook(client, {
      topic,
      eventId: webhookEventId(topic, r.id),
      at: now,
      data: { wallet: { ...w, balance: formatLedgerUnits(w.balance) }, recharge: { id: r.id, amount, failureCode: result.failureReason, failureMessage: message, nextAttemptAt: null, createdAt } },
    });
    done.announced = true;
    // A wallet back at or above its threshold by the time the charge failed (money added while it
    // was pending) has what the recharge was for: no suspension, which a top-up would lift at once.
    if (policy && r.onFailure === RechargeFailurePolicy.SUSPEND && (await this.repo.suspending(client, r.customerId, r.walletId)) > 0) {
      done.standing = await this.payments.suspendIn(client, r.customerId, `the auto-recharge of wallet ${r.walletId} failed: ${result.failureReason}`, r.id, now);
    }
    return done;
  }

  private committed(done: Done): void {
    if (done.alerts.length > 0) for (const l of this.alertListeners) l(done.alerts);
    if (done.standing) this.payments.committed(done.standing);
    if (done.announced) for (const l of this.announcedListeners) l();
  }
}
