import type { Clock } from '../../shared/clock.js';
import type { Logger } from '../../shared/logger.js';
import { formatLedgerUnits } from '../../shared/money/units.js';
import type { AlertRecord } from '../alerts/index.js';
import { type AccountStateService, type AccountView, type ReservationStore, type WalletFigures, walletFigures } from '../reservations/index.js';
import type { UsageCommitted } from '../usage/index.js';
import type { AppendResult } from '../wallets/index.js';
import { ALL_ALERTS, BalanceCause, type BalanceMessage, type LiveBus, type LiveMessage, type UsageMessage } from './live.bus.js';
import type { LiveRepository } from './live.repository.js';

const units = (v: bigint | string) => formatLedgerUnits(typeof v === 'string' ? BigInt(v) : v);

/**
 * Turns committed changes into live messages and publishes them, once, from the instance that
 * made the change: usage commits, ledger movements (top-ups, grants), holds of authorizations,
 * and the alerts each triggered. Publishing never fails the change it reports; a message lost
 * to a Redis outage shows as a gap in the wallet's sequence, and the outbox relay republishes
 * what a crashed instance left unpublished.
 */
export class LivePublisher {
  private published: string[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  /** Messages handed to the bus and not yet acknowledged by it. */
  private pending = 0;
  /** Whether the last change was dropped (one warning per stretch of drops). */
  private dropping = false;

  constructor(
    private readonly bus: LiveBus,
    private readonly repo: LiveRepository,
    private readonly store: ReservationStore,
    private readonly accounts: Pick<AccountStateService, 'ensureLoaded'>,
    private readonly clock: Clock,
    private readonly logger: Logger,
    /** Told when alerts were recorded (their webhook deliveries are due). */
    private readonly deliveriesDue: () => void = () => undefined,
    /**
     * At most this many messages wait for the bus at once. Usage can be committed faster than a
     * slow or stalled bus takes its messages, and each waiting message holds memory; past the
     * bound a change's messages are dropped (counted, logged) rather than the process running
     * out of memory. Live updates are best effort: a dropped balance shows as a gap in the
     * wallet's sequence (clients re-query), and the outbox row stays unpublished, so the relay
     * republishes the balance and its alerts.
     */
    private readonly maxPending = 50_000,
    private readonly onDropped: (messages: number) => void = () => undefined,
  ) {}

  /** After a group commit of usage, with the store's wallet figures after its posts. */
  usageCommitted(c: UsageCommitted): void {
    const at = this.clock.now().toISOString();
    for (const notice of c.notices) {
      const messages: LiveMessage[] = [];
      for (const [walletId, w] of Object.entries(notice.wallets)) {
        messages.push(balanceMessage(notice.customerId, walletId, w.currency, BigInt(w.balance), c.wallets.get(walletId), BigInt(w.change), BalanceCause.USAGE, w.sequence, w.from, at));
      }
      const spend = new Map(notice.spend.map((s) => [`${s.currency}|${new Date(s.periodStart).getTime()}`, s.charged]));
      for (const e of c.events) {
        if (e.customerId !== notice.customerId) continue;
        const message: UsageMessage = {
          type: 'usage',
          customerId: e.customerId,
          event: {
            id: e.id,
            meterCode: e.meterCode,
            quantity: e.quantity,
            amount: e.amount,
            charged: units(e.charged),
            currency: e.currency,
            walletId: e.walletId,
            occurredAt: e.occurredAt.toISOString(),
            dimensions: e.dimensions,
          },
          periodStart: e.periodStart.toISOString(),
          periodSpend: ((s) => (s === undefined ? null : units(s)))(spend.get(`${e.currency}|${e.periodStart.getTime()}`)),
          at,
        };
        messages.push(message);
      }
      this.send(notice.customerId, messages, notice.alerts, notice.outboxId);
    }
  }

  /** After a committed ledger movement outside usage, once the store has it. */
  async ledgerCommitted(result: AppendResult, alerts: AlertRecord[]): Promise<void> {
    const at = this.clock.now().toISOString();
    const byWallet = new Map<string, { change: bigint; entries: number; cause: BalanceCause }>();
    for (const e of result.entries) {
      const w = byWallet.get(e.walletId) ?? { change: 0n, entries: 0, cause: causeOf(e.kind) };
      w.change += e.amount;
      w.entries += 1;
      byWallet.set(e.walletId, w);
    }
    const byCustomer = new Map<string, LiveMessage[]>();
    for (const [walletId, w] of byWallet) {
      const totals = result.wallets.get(walletId)!;
      const figures = await this.figures(totals.customerId, walletId);
      const list = byCustomer.get(totals.customerId) ?? [];
      list.push(balanceMessage(totals.customerId, walletId, totals.currency, totals.balance, figures, w.change, w.cause, totals.version.toString(), (totals.version - BigInt(w.entries)).toString(), at));
      byCustomer.set(totals.customerId, list);
    }
    for (const alert of alerts) if (!byCustomer.has(alert.customerId)) byCustomer.set(alert.customerId, []);
    for (const [customerId, messages] of byCustomer) this.send(customerId, messages, alerts.filter((a) => a.customerId === customerId), null);
  }

  /** After an authorization held money or a hold was given back: available moves, the balance does not. */
  async holdsChanged(customerId: string, walletId: string | null, cause: BalanceCause): Promise<void> {
    const at = this.clock.now().toISOString();
    const alerts = await this.repo.evaluateAlerts([customerId], this.clock.now());
    const messages: LiveMessage[] = [];
    if (walletId) {
      const wallet = await this.repo.wallet(walletId);
      if (wallet) {
        messages.push(balanceMessage(customerId, walletId, wallet.currency, BigInt(wallet.balance), await this.figures(customerId, walletId), 0n, cause, wallet.version, wallet.version, at));
      }
    }
    this.send(customerId, messages, alerts, null);
  }

  /** Alerts recorded outside usage, ledger and hold changes (a definition created or changed already across its threshold). */
  alertsRecorded(alerts: AlertRecord[]): void {
    const byCustomer = new Map<string, AlertRecord[]>();
    for (const a of alerts) byCustomer.set(a.customerId, [...(byCustomer.get(a.customerId) ?? []), a]);
    for (const [customerId, list] of byCustomer) this.send(customerId, [], list, null);
  }

  /** The current state of wallets, as the first message a (re)subscribing client gets. */
  async snapshot(customerId: string, walletIds: string[] | null): Promise<BalanceMessage[]> {
    const rows = await this.repo.wallets(customerId, walletIds);
    const at = this.clock.now().toISOString();
    const view = await this.view(customerId);
    const now = this.clock.now().getTime();
    return rows.map((w) =>
      balanceMessage(customerId, w.id, w.currency, BigInt(w.balance), view?.loaded ? walletFigures((f) => view.fields[f], w.id, now) : undefined, 0n, BalanceCause.SNAPSHOT, w.version, w.version, at),
    );
  }

  /** Republishes outbox rows an instance committed but did not live to publish. */
  async relay(olderThanMs: number): Promise<number> {
    const now = this.clock.now();
    return this.repo.relay(new Date(now.getTime() - olderThanMs), now, async (rows) => {
      for (const r of rows) {
        const messages: LiveMessage[] = [];
        for (const [walletId, w] of Object.entries(r.payload.wallets ?? {})) {
          messages.push(balanceMessage(r.customer_id, walletId, w.currency, BigInt(w.balance), await this.figures(r.customer_id, walletId), BigInt(w.change), BalanceCause.USAGE, w.sequence, w.from, r.created_at.toISOString()));
        }
        await this.publish(r.customer_id, messages, r.payload.alerts ?? []);
      }
    });
  }

  /** Marks published outbox rows, in batches. */
  async flush(): Promise<void> {
    const ids = this.published;
    this.published = [];
    if (ids.length === 0) return;
    await this.repo.markPublished(ids, this.clock.now()).catch((err: Error) => {
      this.logger.warn({ err: err.message }, 'marking outbox rows published failed; the relay will publish them again');
    });
  }

  stop(): Promise<void> {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    return this.flush();
  }

  private send(customerId: string, messages: LiveMessage[], alerts: AlertRecord[], outboxId: string | null): void {
    if (alerts.length > 0) this.deliveriesDue();
    const count = messages.length + alerts.length;
    if (this.pending + count > this.maxPending) {
      this.onDropped(count);
      if (!this.dropping) this.logger.warn({ pending: this.pending, dropped: count }, 'live updates are waiting for the bus; dropping new ones until it catches up');
      this.dropping = true;
      return;
    }
    this.dropping = false;
    this.pending += count;
    void this.publish(customerId, messages, alerts).finally(() => (this.pending -= count)).then(
      () => {
        if (outboxId === null) return;
        this.published.push(outboxId);
        this.flushTimer ??= setTimeout(() => {
          this.flushTimer = undefined;
          void this.flush();
        }, 200);
      },
      (err: Error) => this.logger.warn({ customerId, err: err.message }, 'publishing live updates failed'),
    );
  }

  private async publish(customerId: string, messages: LiveMessage[], alerts: AlertRecord[]): Promise<void> {
    const alertMessages: LiveMessage[] = alerts.map((alert) => ({ type: 'alert', customerId: alert.customerId, alert }));
    await Promise.all([
      this.bus.publish(customerId, [...messages, ...alertMessages]),
      alertMessages.length > 0 ? this.bus.publish(ALL_ALERTS, alertMessages) : undefined,
    ]);
  }

  private async figures(customerId: string, walletId: string): Promise<WalletFigures | undefined> {
    const view = await this.view(customerId);
    return view?.loaded ? walletFigures((f) => view.fields[f], walletId, this.clock.now().getTime()) : undefined;
  }

  /** The customer's state in the store, loaded from PostgreSQL first if the store lacks it; undefined when the store is down. */
  private async view(customerId: string): Promise<AccountView | undefined> {
    try {
      let view = await this.store.inspect(customerId, null);
      if (!view.loaded) {
        await this.accounts.ensureLoaded(customerId);
        view = await this.store.inspect(customerId, null);
      }
      return view;
    } catch {
      return undefined;
    }
  }
}

function causeOf(kind: string): BalanceCause {
  if (kind === 'TOP_UP') return BalanceCause.TOP_UP;
  if (kind === 'GRANT') return BalanceCause.GRANT;
  if (kind === 'USAGE') return BalanceCause.USAGE;
  return BalanceCause.ADJUSTMENT;
}

function balanceMessage(
  customerId: string,
  walletId: string,
  currency: string,
  balance: bigint,
  figures: WalletFigures | undefined,
  change: bigint,
  cause: BalanceCause,
  sequence: string,
  previousSequence: string,
  at: string,
): BalanceMessage {
  return {
    type: 'balance',
    customerId,
    walletId,
    currency,
    balance: units(balance),
    available: figures ? units(figures.available) : null,
    held: figures ? units(figures.held) : null,
    change: units(change),
    cause,
    sequence,
    previousSequence,
    at,
  };
}
