import { forbidden, notFound, ValidationError } from '../../shared/errors.js';
import { isUuid } from '../../shared/ids.js';
import type { AlertRecord } from '../alerts/index.js';
import { Role, type Principal } from '../api-keys/index.js';
import { ALL_ALERTS, type BalanceMessage, type LiveBus, type LiveMessage, type UsageMessage } from './live.bus.js';
import type { LivePublisher } from './live-publisher.service.js';

/** Messages a slow subscriber may fall behind by; older ones are dropped (the sequence shows the gap). */
const MAX_QUEUED = 1_000;

/**
 * An async iterator over one subscription's messages. Fed by the bus, read by graphql-ws;
 * `return()` (the client stopped, or the socket closed) unsubscribes from the bus.
 */
class Feed<T> implements AsyncIterableIterator<T> {
  private readonly queue: T[] = [];
  private readonly waiting: Array<(r: IteratorResult<T>) => void> = [];
  private done = false;
  unsubscribe: () => void = () => undefined;

  push(item: T): void {
    if (this.done) return;
    const next = this.waiting.shift();
    if (next) return next({ value: item, done: false });
    if (this.queue.length >= MAX_QUEUED) this.queue.shift();
    this.queue.push(item);
  }

  next(): Promise<IteratorResult<T>> {
    if (this.queue.length > 0) return Promise.resolve({ value: this.queue.shift()!, done: false });
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  return(): Promise<IteratorResult<T>> {
    if (!this.done) {
      this.done = true;
      this.unsubscribe();
      for (const w of this.waiting.splice(0)) w({ value: undefined, done: true });
      this.queue.length = 0;
    }
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}

/**
 * Whether a balance message tells something the snapshot at `sequence` did not: a ledger change
 * that started from it or later. A hold change (the sequence does not move) carries the figures
 * read when it was published, so one at the snapshot's sequence is passed on.
 */
function isAfter(m: BalanceMessage, sequence: bigint): boolean {
  return m.sequence === m.previousSequence ? BigInt(m.sequence) >= sequence : BigInt(m.previousSequence) >= sequence;
}

/**
 * The live subscriptions: who may watch what, and the feeds themselves. Every message is checked
 * against the subscriber's scope before it is pushed, whatever channel it came from.
 */
export class LiveFeeds {
  constructor(
    private readonly bus: LiveBus,
    private readonly publisher: LivePublisher,
    private readonly walletOwner: (walletId: string) => Promise<string | null>,
    private readonly customerExists: (customerId: string) => Promise<boolean>,
  ) {}

  /**
   * A wallet's (or every wallet of a customer's) balance changes. The current state comes first;
   * after it, only changes newer than it.
   */
  async balances(principal: Principal, args: { walletId?: string | null; customerId?: string | null }): Promise<AsyncIterableIterator<BalanceMessage>> {
    if (!!args.walletId === !!args.customerId) throw new ValidationError([{ path: 'walletId', message: 'give exactly one of walletId and customerId' }]);
    let customerId: string;
    if (args.walletId) {
      const owner = isUuid(args.walletId) ? await this.walletOwner(args.walletId) : null;
      if (!owner) throw notFound('wallet', args.walletId);
      customerId = this.scope(principal, owner);
    } else {
      customerId = await this.customer(principal, args.customerId!);
    }
    const walletId = args.walletId ?? null;
    const feed = new Feed<BalanceMessage>();
    const early: BalanceMessage[] = [];
    let seen: Map<string, bigint> | null = null;
    const accept = (m: LiveMessage): m is BalanceMessage => m.type === 'balance' && m.customerId === customerId && (!walletId || m.walletId === walletId);
    feed.unsubscribe = await this.bus.subscribe(customerId, (messages) => {
      for (const m of messages) {
        if (!accept(m)) continue;
        if (seen === null) early.push(m);
        else if (isAfter(m, seen.get(m.walletId) ?? 0n)) feed.push(m);
      }
    });
    try {
      const snapshot = await this.publisher.snapshot(customerId, walletId ? [walletId] : null);
      seen = new Map(snapshot.map((s) => [s.walletId, BigInt(s.sequence)]));
      for (const s of snapshot) feed.push(s);
      // Changes that arrived while the snapshot was read, newer than what it saw.
      for (const m of early) if (isAfter(m, seen.get(m.walletId) ?? 0n)) feed.push(m);
    } catch (err) {
      await feed.return();
      throw err;
    }
    return feed;
  }

  /** Every usage event of a customer (optionally of one meter) as it is committed. */
  async usage(principal: Principal, args: { customerId: string; meterCode?: string | null }): Promise<AsyncIterableIterator<UsageMessage>> {
    const customerId = await this.customer(principal, args.customerId);
    const feed = new Feed<UsageMessage>();
    feed.unsubscribe = await this.bus.subscribe(customerId, (messages) => {
      for (const m of messages) {
        if (m.type === 'usage' && m.customerId === customerId && (!args.meterCode || m.event.meterCode === args.meterCode)) feed.push(m);
      }
    });
    return feed;
  }

  /** Alerts of a customer; an ADMIN key may leave the customer out to watch every customer's. */
  async alerts(principal: Principal, args: { customerId?: string | null }): Promise<AsyncIterableIterator<AlertRecord>> {
    let customerId: string | null = args.customerId ?? null;
    if (customerId) customerId = await this.customer(principal, customerId);
    else if (principal.role === Role.CUSTOMER) customerId = principal.customerId;
    else if (principal.role !== Role.ADMIN) throw forbidden('this key may not watch alerts');
    const feed = new Feed<AlertRecord>();
    feed.unsubscribe = await this.bus.subscribe(customerId ?? ALL_ALERTS, (messages) => {
      for (const m of messages) {
        if (m.type !== 'alert') continue;
        if (customerId !== null && m.customerId !== customerId) continue;
        if (principal.role === Role.CUSTOMER && m.customerId !== principal.customerId) continue;
        feed.push(m.alert);
      }
    });
    return feed;
  }

  private async customer(principal: Principal, customerId: string): Promise<string> {
    const scoped = this.scope(principal, customerId);
    if (!isUuid(scoped) || !(await this.customerExists(scoped))) throw notFound('customer', customerId);
    return scoped;
  }

  /** ADMIN keys watch anyone; CUSTOMER keys only their own customer; INGEST keys nobody. */
  private scope(principal: Principal, customerId: string): string {
    if (principal.role === Role.ADMIN) return customerId;
    if (principal.role === Role.CUSTOMER && principal.customerId === customerId) return customerId;
    throw forbidden(principal.role === Role.CUSTOMER ? 'a CUSTOMER key may only watch its own customer' : 'this key may not watch customer data');
  }
}
