import { forbidden, notFound, ValidationError } from '../../shared/errors.js';
import { isUuid } from '../../shared/ids.js';
import type { AlertRecord } from '../alerts/index.js';
import { Role, type Principal } from '../api-keys/index.js';
import { ALL_ALERTS, type BalanceMessage, type LiveBus, type LiveMessage, type StandingMessage, type UsageMessage } from './live.bus.js';
import { BalanceOrder } from './balance-order.pure.js';
import type { LivePublisher } from './live-publisher.service.js';

/** Messages a slow subscriber may fall behind by; older ones are dropped (the sequence shows the gap). */
const MAX_QUEUED = 1_000;
/** How long a balance change that arrived out of order waits for the change before it (BalanceOrder). */
const REORDER_WAIT_MS = 1_000;

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
 * The live subscriptions: who may watch what, and the feeds themselves. Every message is checked
 * against the subscriber's scope before it is pushed, whatever channel it came from.
 */
export class LiveFeeds {
  constructor(
    private readonly bus: LiveBus,
    private readonly publisher: LivePublisher,
    private readonly walletOwner: (walletId: string) => Promise<string | null>,
    private readonly customerExists: (customerId: string) => Promise<boolean>,
    /** Told of each change pushed to a subscriber: its type and when it was committed (`at`, ISO). */
    private readonly pushed: (type: LiveMessage['type'], at: string) => void = () => undefined,
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
    let started = false;
    const order = new BalanceOrder();
    let waiting: NodeJS.Timeout | undefined;
    const pass = (messages: BalanceMessage[]) => {
      for (const m of messages) {
        feed.push(m);
        this.pushed('balance', m.at);
      }
    };
    // A change that arrived before the one it follows waits for it, at most REORDER_WAIT_MS.
    const wait = () => {
      if (order.holding && !waiting) {
        waiting = setTimeout(() => {
          waiting = undefined;
          pass(order.release());
        }, REORDER_WAIT_MS);
      } else if (!order.holding && waiting) {
        clearTimeout(waiting);
        waiting = undefined;
      }
    };
    const accept = (m: LiveMessage): m is BalanceMessage => m.type === 'balance' && m.customerId === customerId && (!walletId || m.walletId === walletId);
    const unsubscribe = await this.bus.subscribe(customerId, (messages) => {
      for (const m of messages) {
        if (!accept(m)) continue;
        if (!started) early.push(m);
        else pass(order.offer(m));
      }
      if (started) wait();
    });
    feed.unsubscribe = () => {
      clearTimeout(waiting);
      unsubscribe();
    };
    try {
      const snapshot = await this.publisher.snapshot(customerId, walletId ? [walletId] : null);
      for (const s of snapshot) {
        order.start(s.walletId, BigInt(s.sequence));
        feed.push(s);
      }
      // Changes that arrived while the snapshot was read, newer than what it saw.
      started = true;
      for (const m of early) pass(order.offer(m));
      wait();
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
        if (m.type !== 'usage' || m.customerId !== customerId || (args.meterCode && m.event.meterCode !== args.meterCode)) continue;
        feed.push(m);
        this.pushed('usage', m.at);
      }
    });
    return feed;
  }

  /** A customer's suspension and reinstatement, as they happen. */
  async standing(principal: Principal, args: { customerId: string }): Promise<AsyncIterableIterator<StandingMessage>> {
    const customerId = await this.customer(principal, args.customerId);
    const feed = new Feed<StandingMessage>();
    feed.unsubscribe = await this.bus.subscribe(customerId, (messages) => {
      for (const m of messages) {
        if (m.type !== 'standing' || m.customerId !== customerId) continue;
        feed.push(m);
        this.pushed('standing', m.at);
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
        this.pushed('alert', m.alert.createdAt);
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
