import type {
  AccountSnapshot,
  Allocation,
  HoldRecord,
  PeriodSnapshot,
  PostItem,
  PostResult,
  ReserveEvent,
  ReserveReply,
  ReserveResult,
  SyncChange,
  WalletState,
} from './reservation.store.js';

/**
 * The JSON both store implementations speak: what lua/*.lua take and return. Amounts travel as
 * decimal strings (never JSON numbers, which Lua would turn into doubles).
 */

/**
 * The keys a script call declares (KEYS), as suffixes of the customer's key prefix
 * `<prefix>{c:<id>}:`: the state's five first (lua/prelude.lua), then those of the request,
 * each once. Every key a script touches is among them; `never` is never written.
 */
const STATE_KEYS = ['s', 'h', 'hx', 'ps', 'never'];
const withState = (request: Iterable<string>): string[] => [...STATE_KEYS, ...new Set(request)];
const periodKeys = (per: string) => (per === '' ? [] : [`p:${per}`]);

export const scriptKeys = {
  /** load, inspect */
  state: (): string[] => [...STATE_KEYS],
  /** begin-load (null: the customer's state), load-period */
  period: (per: string | null): string[] => withState(periodKeys(per ?? '')),
  reserve: (events: ReserveEvent[]): string[] => withState(events.flatMap((e) => [`i:${e.idempotencyKey}`, ...periodKeys(e.periodKey)])),
  post: (items: PostItem[]): string[] => withState(items.flatMap((x) => [`i:${x.idempotencyKey}`, ...periodKeys(x.periodKey)])),
  /** Each hold's idempotency key and period, as read from its record. */
  release: (holds: Array<{ k: string; per: string }>): string[] => withState(holds.flatMap((h) => [`i:${h.k}`, ...periodKeys(h.per)])),
  sync: (change: SyncChange): string[] => withState(change.version === null ? [] : [`sv:${change.version}`]),
  /** The periods the state loaded (its ps set). */
  drop: (periods: string[]): string[] => withState(periods.flatMap(periodKeys)),
};

const s = (x: bigint) => x.toString();
const orEmpty = (x: bigint | null) => (x === null ? '' : x.toString());
/** cjson encodes an empty table as {}; a list may arrive that way. */
export const asList = <T>(x: unknown): T[] => (Array.isArray(x) ? (x as T[]) : []);

export function encodeReserve(now: number, events: ReserveEvent[], atomic: boolean): string {
  return JSON.stringify({
    now: String(now),
    atomic,
    ev: events.map((e) => ({
      k: e.idempotencyKey,
      hs: e.requestHash,
      h: e.holdId,
      exp: String(e.expiresAt),
      t: e.kind === 'usage' ? 'u' : 'r',
      cur: e.currency,
      amt: s(e.amount),
      per: e.periodKey,
      from: e.settles,
      c: e.counters.map((c) => [c.key, s(c.delta), s(c.from), orEmpty(c.to)]),
      mq: e.meterQuantity && [e.meterQuantity.meter, s(e.meterQuantity.delta), orEmpty(e.meterQuantity.from), orEmpty(e.meterQuantity.to)],
    })),
  });
}

const counterMap = (c: unknown) => new Map(Object.entries((c ?? {}) as Record<string, string>).map(([k, v]) => [k, BigInt(v)]));
const big = (v: unknown) => (v === '' || v === undefined || v === null ? null : BigInt(v as string));

type RawResult = { s: string; w?: string; a?: unknown; av?: string; soft?: boolean; c?: unknown; mq?: string; e?: string; sp?: string; cap?: string };

export function decodeReserve(raw: string): ReserveReply {
  const reply = JSON.parse(raw) as { s: string; p?: unknown; r?: unknown };
  if (reply.s === 'LOAD') return { kind: 'LOAD' };
  if (reply.s === 'PERIOD') return { kind: 'PERIOD', periods: asList<string>(reply.p) };
  return { kind: 'DONE', results: asList<RawResult>(reply.r).map(decodeResult) };
}

function decodeResult(r: RawResult): ReserveResult {
  switch (r.s) {
    case 'OK':
      return {
        status: 'OK',
        walletId: r.w || null,
        allocations: asList<[string, string]>(r.a).map(([blockId, amount]) => ({ blockId, amount: BigInt(amount) })),
        available: big(r.av),
        softLimitExceeded: !!r.soft,
        counters: counterMap(r.c),
        meterQuantity: big(r.mq),
      };
    case 'FUNDS':
      return { status: 'FUNDS', available: BigInt(r.av!) };
    case 'CAP':
      return { status: 'CAP', spent: BigInt(r.sp!), cap: BigInt(r.cap!) };
    case 'RERATE':
      return { status: 'RERATE', counters: counterMap(r.c), meterQuantity: big(r.mq) };
    case 'DUP':
      return { status: 'DUP', ref: r.e! };
    case 'PENDING':
    case 'REUSED':
    case 'HOLD_GONE':
    case 'SKIP':
      return { status: r.s };
    default:
      throw new Error(`unknown reserve result ${r.s}`);
  }
}

const allocs = (a: Allocation[]) => a.map((x) => [x.blockId, s(x.amount)]);

export function encodePost(version: bigint, items: PostItem[], ttlMs: number, now: number): string {
  return JSON.stringify({
    v: s(version),
    ttl: String(ttlMs),
    now: String(now),
    posts: items.map((x) => ({
      h: x.holdId,
      w: x.walletId ?? '',
      k: x.idempotencyKey,
      hs: x.requestHash,
      ref: x.ref,
      keep: x.keep,
      hold: x.hold,
      a: allocs(x.allocations),
      per: x.periodKey,
      c: x.counters.map(([k, d]) => [k, s(d)]),
      mq: x.meterQuantity && [x.meterQuantity[0], s(x.meterQuantity[1])],
      cur: x.currency,
      amt: s(x.amount),
      postpaid: x.postpaid,
    })),
  });
}

export function decodePost(raw: string): PostResult {
  const reply = JSON.parse(raw) as { n: number; w?: unknown };
  return {
    found: reply.n,
    wallets: asList<[string, string, string]>(reply.w).map(([walletId, available, held]) => ({ walletId, available: BigInt(available), held: BigInt(held) })),
  };
}

const wallets = (ws: WalletState[]) => ws.map((w) => ({ id: w.id, cur: w.currency, mode: w.mode, od: s(w.overdraft), order: w.order.join(',') }));

export function encodeSync(change: SyncChange): string {
  return JSON.stringify({
    v: change.version === null ? '' : s(change.version),
    wallets: wallets(change.wallets),
    blocks: change.blocks.map((b) => ({ id: b.id, kind: b.kind, x: b.expiresAt === null ? '' : String(b.expiresAt) })),
    deltas: allocs(change.deltas),
    caps: Object.fromEntries(Object.entries(change.caps).map(([k, v]) => [k, v === null ? '' : s(v)])),
  });
}

export function encodeLoad(snapshot: AccountSnapshot): string {
  return JSON.stringify({
    v: s(snapshot.version),
    gen: snapshot.generation,
    tok: snapshot.token,
    wallets: wallets(snapshot.wallets),
    blocks: snapshot.blocks.map((b) => ({ id: b.id, kind: b.kind, x: b.expiresAt === null ? '' : String(b.expiresAt), r: s(b.remaining) })),
    caps: Object.fromEntries(Object.entries(snapshot.caps).map(([k, v]) => [k, s(v)])),
    holds: snapshot.holds.map((h) => ({ id: h.id, rec: h.record, held: allocs(h.held) })),
  });
}

export function encodeLoadPeriod(p: PeriodSnapshot): string {
  const obj = (m: Map<string, bigint>) => Object.fromEntries([...m].map(([k, v]) => [k, s(v)]));
  return JSON.stringify({ per: p.periodKey, v: s(p.version), tok: p.token, expireAt: String(p.expireAt), c: obj(p.counters), mq: obj(p.meterQuantities), sp: obj(p.spend) });
}

const text = (x: unknown, fallback = ''): string => (typeof x === 'string' ? x : typeof x === 'number' ? String(x) : fallback);
const pairs = (x: unknown): Array<[string, string]> => asList<unknown>(x).filter(Array.isArray).map((p) => [text((p as unknown[])[0]), text((p as unknown[])[1], '0')]);

/**
 * A hold record as read back from the store, made whole: Lua's cjson turns an empty list into
 * {} and a missing value into null, so every list, pair and flag is normalised here, for every
 * kind of hold (usage or authorisation, prepaid or postpaid, by amount or by quantity).
 */
export function decodeHold(raw: unknown): HoldRecord {
  const r = (raw && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
  const mq = Array.isArray(r.mq) && r.mq.length === 2 ? ([text(r.mq[0]), text(r.mq[1], '0')] as [string, string]) : null;
  return {
    t: r.t === 'r' ? 'r' : 'u',
    k: text(r.k),
    hs: text(r.hs),
    cur: text(r.cur),
    amt: text(r.amt, '0'),
    w: text(r.w),
    a: pairs(r.a),
    exp: text(r.exp, '0'),
    cr: text(r.cr, '0'),
    per: text(r.per),
    c: pairs(r.c),
    mq,
    postpaid: r.postpaid === true,
  };
}
