/**
 * The store of live account state that every usage event checks and moves in one atomic step:
 * balances per credit block, held amounts, period counters, spending caps, idempotency keys.
 * It is a cache of PostgreSQL: anything missing is loaded from a snapshot, and a commit tells it
 * what changed. Two implementations keep one contract (test/integration/reservation-store.test.ts):
 * Redis (lua/*.lua; any number of instances) and an in-process twin (the embedded default).
 *
 * Units: every amount and counter is a bigint of 1e-9 (ledger units).
 */

export interface Allocation {
  blockId: string;
  amount: bigint;
}

export interface CounterCheck {
  key: string;
  delta: bigint;
  /** The rating holds while the counter is in [from, to]; to null is unbounded. */
  from: bigint;
  to: bigint | null;
}

export interface MeterQuantityCheck {
  meter: string;
  delta: bigint;
  from: bigint | null;
  to: bigint | null;
}

export interface ReserveEvent {
  idempotencyKey: string;
  requestHash: string;
  /** Chosen by the caller, so a crash before the reply cannot leave an unknown hold. */
  holdId: string;
  /** When the hold lapses if nothing posts or releases it (ms since epoch). */
  expiresAt: number;
  kind: 'usage' | 'authorization';
  currency: string;
  amount: bigint;
  /** Billing period key ('' for none). */
  periodKey: string;
  counters: CounterCheck[];
  meterQuantity: MeterQuantityCheck | null;
  /** Hold of an authorization this event settles. */
  settles: string | null;
}

export type ReserveResult =
  | {
      status: 'OK';
      walletId: string | null;
      allocations: Allocation[];
      /** Available balance after the hold (null for postpaid). */
      available: bigint | null;
      softLimitExceeded: boolean;
      counters: Map<string, bigint>;
      meterQuantity: bigint | null;
    }
  | { status: 'FUNDS'; available: bigint }
  | { status: 'CAP'; spent: bigint; cap: bigint }
  | { status: 'RERATE'; counters: Map<string, bigint>; meterQuantity: bigint | null }
  | { status: 'DUP'; ref: string }
  | { status: 'PENDING' }
  | { status: 'REUSED' }
  | { status: 'HOLD_GONE' }
  | { status: 'SKIP' };

export type ReserveReply = { kind: 'LOAD' } | { kind: 'PERIOD'; periods: string[] } | { kind: 'DONE'; results: ReserveResult[] };

/** A hold as stored (Lua and TypeScript keep the same JSON shape). */
export interface HoldRecord {
  t: 'u' | 'r';
  k: string;
  hs: string;
  cur: string;
  amt: string;
  w: string;
  a: Array<[string, string]>;
  exp: string;
  cr: string;
  per: string;
  c: Array<[string, string]>;
  mq: [string, string] | null;
  postpaid: boolean;
}

export interface PostItem {
  holdId: string;
  idempotencyKey: string;
  requestHash: string;
  /** The committed event's (or reservation's) id, returned to later duplicates. */
  ref: string;
  /** Keep the hold: an authorization was committed, nothing was spent yet. */
  keep: boolean;
  hold: HoldRecord | null;
  allocations: Allocation[];
  periodKey: string;
  counters: Array<[string, bigint]>;
  meterQuantity: [string, bigint] | null;
  currency: string;
  amount: bigint;
  postpaid: boolean;
  /** The wallet the hold is on ('' or null for postpaid). */
  walletId: string | null;
}

/** A wallet as the store sees it after a post. */
export interface WalletFigures {
  walletId: string;
  /** Balance of unexpired blocks minus what holds keep. */
  available: bigint;
  held: bigint;
}

export interface PostResult {
  /** Holds found and made final. */
  found: number;
  /** The posted wallets' figures afterwards (none when the state is not loaded). */
  wallets: WalletFigures[];
}

export interface WalletState {
  id: string;
  currency: string;
  mode: 'HARD' | 'SOFT' | 'OVERDRAFT';
  overdraft: bigint;
  /** Block ids in consumption order. */
  order: string[];
}

export interface BlockMeta {
  id: string;
  kind: 'M' | 'G';
  expiresAt: number | null;
}

export interface AccountSnapshot {
  /** The customer's account version the snapshot was read at. */
  version: bigint;
  /** A fresh id for this load; period counters loaded under another generation are stale. */
  generation: string;
  /** What beginLoad returned before the snapshot was read. */
  token: string;
  wallets: WalletState[];
  blocks: Array<BlockMeta & { remaining: bigint }>;
  caps: Record<string, bigint>;
  holds: Array<{ id: string; record: HoldRecord; held: Allocation[] }>;
}

export interface PeriodSnapshot {
  periodKey: string;
  version: bigint;
  /** What beginLoad returned for the period before the snapshot was read. */
  token: string;
  expireAt: number;
  counters: Map<string, bigint>;
  meterQuantities: Map<string, bigint>;
  spend: Map<string, bigint>;
}

export interface SyncChange {
  /** Version after the commit, for deltas; null when only settings change. */
  version: bigint | null;
  wallets: WalletState[];
  blocks: BlockMeta[];
  deltas: Allocation[];
  caps: Record<string, bigint | null>;
}

export interface AccountView {
  loaded: boolean;
  version: bigint;
  /** The raw state fields (wal:, wm:, wbl:, br:, bh:, bk:, bx:, cap:). */
  fields: Record<string, string>;
  holds: Map<string, HoldRecord>;
  /** Holds whose expiry is before the asked instant. */
  expired: string[];
}

export interface ReservationStore {
  readonly kind: 'redis' | 'memory';
  ping(): Promise<void>;
  close(): Promise<void>;
  reserve(customerId: string, now: number, events: ReserveEvent[], atomic: boolean): Promise<ReserveReply>;
  post(customerId: string, version: bigint, items: PostItem[], now: number): Promise<PostResult>;
  release(customerId: string, holdIds: string[], forget: boolean): Promise<number>;
  sync(customerId: string, change: SyncChange): Promise<boolean>;
  /**
   * Starts loading the customer's state (periodKey null) or one period of it: returns the token
   * the load must bring, or null when it is loaded already. Read the snapshot after this.
   */
  beginLoad(customerId: string, periodKey: string | null, token: string): Promise<string | null>;
  /**
   * Installs a snapshot unless the state is loaded already. STALE: something the snapshot may
   * miss happened since beginLoad (the store lost its state, or a commit it had to skip is newer
   * than the snapshot); read a new one and try again.
   */
  load(customerId: string, snapshot: AccountSnapshot): Promise<LoadOutcome>;
  /** As load, for one period; throws StateNotLoaded when the customer's state is not loaded. */
  loadPeriod(customerId: string, snapshot: PeriodSnapshot): Promise<LoadOutcome>;
  inspect(customerId: string, expiredBefore: number | null): Promise<AccountView>;
  /**
   * The period counters the store holds for a customer, by period key (the raw fields): every
   * period it loaded and has not dropped (the in-process store also lists periods only begun).
   */
  periods(customerId: string): Promise<Map<string, Record<string, string>>>;
  /** Forgets everything about a customer (repair); the next use loads it again. */
  drop(customerId: string): Promise<void>;
  /** Customers that may have holds, for the sweep. */
  holders(): Promise<string[]>;
  forgetHolder(customerId: string): Promise<void>;
}

export type LoadOutcome = 'LOADED' | 'ALREADY' | 'STALE';

/** loadPeriod found no customer state to attach the period to (lost since): load the state first. */
export class StateNotLoaded extends Error {}

/** How long a committed idempotency key is remembered in the store (PostgreSQL keeps it forever). */
export const IDEMPOTENCY_MEMORY_MS = 24 * 3600 * 1000;
