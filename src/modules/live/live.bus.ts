import type { AlertRecord } from '../alerts/index.js';

/** Why a wallet's figures moved. */
export const BalanceCause = {
  /** The state on (re)subscribing, before any change. */
  SNAPSHOT: 'SNAPSHOT',
  USAGE: 'USAGE',
  TOP_UP: 'TOP_UP',
  GRANT: 'GRANT',
  ADJUSTMENT: 'ADJUSTMENT',
  /** An authorization held money (available fell; the balance did not move). */
  HOLD: 'HOLD',
  /** A hold was given back (released, expired or settled for less). */
  RELEASE: 'RELEASE',
} as const;
export type BalanceCause = (typeof BalanceCause)[keyof typeof BalanceCause];

/** Live messages as they travel between instances: plain JSON, money as decimal strings. */
export interface BalanceMessage {
  type: 'balance';
  customerId: string;
  walletId: string;
  currency: string;
  balance: string;
  /** Null when the reservation store could not say (it is rebuilt on next use). */
  available: string | null;
  held: string | null;
  change: string;
  cause: BalanceCause;
  /** The wallet's ledger sequence after the change, and before it: a client that last saw another `previous` missed one. */
  sequence: string;
  previousSequence: string;
  at: string;
}

export interface UsageMessage {
  type: 'usage';
  customerId: string;
  event: {
    id: string;
    meterCode: string;
    quantity: string;
    amount: string;
    charged: string;
    currency: string;
    walletId: string | null;
    occurredAt: string;
    dimensions: Record<string, string>;
  };
  periodStart: string;
  /** What the customer's usage in this currency charged in the period so far, this event included. */
  periodSpend: string | null;
  at: string;
}

export interface AlertMessage {
  type: 'alert';
  customerId: string;
  alert: AlertRecord;
}

/** An API key or customer token was revoked: every instance forgets it and closes its sockets. */
export interface RevokedMessage {
  type: 'revoked';
  credentialId: string;
  at: string;
}

/** A customer was suspended (an uncollectible invoice) or reinstated (paid). */
export interface StandingMessage {
  type: 'standing';
  customerId: string;
  externalId: string;
  status: 'ACTIVE' | 'SUSPENDED';
  /** Why it is suspended; null once reinstated. */
  reason: string | null;
  at: string;
}

export type LiveMessage = BalanceMessage | UsageMessage | AlertMessage | RevokedMessage | StandingMessage;

export type LiveListener = (messages: readonly LiveMessage[]) => void;

/** The channel of every alert, for subscribers that watch all customers. */
export const ALL_ALERTS = '*alerts';

/** The channel of revocation notices, which every instance listens to. */
export const REVOCATIONS = '*revocations';

/** The channel of customer standing changes, which every instance listens to (its usage cache forgets the customer). */
export const STANDINGS = '*standings';

/**
 * Carries live messages between server instances: one channel per customer (and one for every
 * alert). An instance listens to a channel only while it has local listeners on it; a message
 * is decoded once per instance and handed to every local listener.
 */
export interface LiveBus {
  publish(channel: string, messages: LiveMessage[]): Promise<void>;
  /** Resolves once messages published from now on will reach the listener; returns the unsubscribe. */
  subscribe(channel: string, listener: LiveListener): Promise<() => void>;
  close(): Promise<void>;
}

/** Local listeners per channel, shared by both buses. */
export class ListenerSet {
  private readonly byChannel = new Map<string, Set<LiveListener>>();

  /** Adds a listener; true when it is the channel's first. */
  add(channel: string, listener: LiveListener): boolean {
    let set = this.byChannel.get(channel);
    const first = !set;
    if (!set) this.byChannel.set(channel, (set = new Set()));
    set.add(listener);
    return first;
  }

  /** Removes a listener; true when the channel has none left. */
  remove(channel: string, listener: LiveListener): boolean {
    const set = this.byChannel.get(channel);
    if (!set) return false;
    set.delete(listener);
    if (set.size > 0) return false;
    this.byChannel.delete(channel);
    return true;
  }

  has(channel: string): boolean {
    return this.byChannel.has(channel);
  }

  dispatch(channel: string, messages: readonly LiveMessage[], onError: (err: unknown) => void): void {
    for (const listener of this.byChannel.get(channel) ?? []) {
      try {
        listener(messages);
      } catch (err) {
        onError(err);
      }
    }
  }

  get channels(): number {
    return this.byChannel.size;
  }
}

/** The in-process bus of the embedded default (a single instance). */
export class MemoryLiveBus implements LiveBus {
  private readonly listeners = new ListenerSet();

  constructor(private readonly onError: (err: unknown) => void = () => undefined) {}

  async publish(channel: string, messages: LiveMessage[]): Promise<void> {
    // Delivered on a later turn, as over the network: a publisher never runs listeners inline.
    const frozen = JSON.parse(JSON.stringify(messages)) as LiveMessage[];
    setImmediate(() => this.listeners.dispatch(channel, frozen, this.onError));
  }

  async subscribe(channel: string, listener: LiveListener): Promise<() => void> {
    this.listeners.add(channel, listener);
    return () => void this.listeners.remove(channel, listener);
  }

  async close(): Promise<void> {}
}
