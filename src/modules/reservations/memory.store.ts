import {
  IDEMPOTENCY_MEMORY_MS,
  type AccountSnapshot,
  type AccountView,
  type Allocation,
  type HoldRecord,
  type LoadOutcome,
  type PeriodSnapshot,
  type PostItem,
  type PostResult,
  type ReservationStore,
  type ReserveEvent,
  type ReserveReply,
  type ReserveResult,
  StateNotLoaded,
  type SyncChange,
  type WalletFigures,
} from './reservation.store.js';
import { walletFigures } from './wallet-figures.pure.js';

/** One customer's state: the same fields, with the same names, as the Redis hashes. */
interface Account {
  state: Map<string, string>;
  holds: Map<string, HoldRecord>;
  periods: Map<string, { fields: Map<string, string>; expireAt: number }>;
  idempotency: Map<string, { value: string; expireAt: number }>;
  /** Versions whose sync deltas were applied, with their expiry (Redis: sv:<version>, apart from the idempotency keys). */
  synced: Map<string, number>;
  /** Periods loaded since the last drop (Redis: ps), which a drop forgets. */
  loadedPeriods: Set<string>;
}

const n = (v: string | undefined): bigint => (v === undefined ? 0n : BigInt(v));

/**
 * The in-process twin of the Redis store, for the embedded default: one instance only. Each
 * method is a port of the Lua script of the same name and runs synchronously, so it is atomic in
 * a single Node process exactly as the script is in Redis. Both pass the same contract tests.
 */
export class MemoryReservationStore implements ReservationStore {
  readonly kind = 'memory' as const;
  private readonly accounts = new Map<string, Account>();
  private readonly holderSet = new Set<string>();

  constructor(private readonly now: () => number = Date.now) {}

  async ping(): Promise<void> {}
  async close(): Promise<void> {}

  private account(customerId: string): Account {
    let a = this.accounts.get(customerId);
    if (!a) {
      a = { state: new Map(), holds: new Map(), periods: new Map(), idempotency: new Map(), synced: new Map(), loadedPeriods: new Set() };
      this.accounts.set(customerId, a);
    }
    return a;
  }

  private period(a: Account, key: string): Map<string, string> | undefined {
    const p = a.periods.get(key);
    if (p && p.expireAt <= this.now()) {
      a.periods.delete(key);
      return undefined;
    }
    return p?.fields;
  }

  private idem(a: Account, key: string): string | undefined {
    const entry = a.idempotency.get(key);
    if (entry && entry.expireAt <= this.now()) {
      a.idempotency.delete(key);
      return undefined;
    }
    return entry?.value;
  }

  async reserve(customerId: string, now: number, events: ReserveEvent[], atomic: boolean): Promise<ReserveReply> {
    for (const e of events) if (e.amount < 0n) throw new Error('amount must not be negative');
    this.holderSet.add(customerId);
    const a = this.account(customerId);
    if (a.state.get('loaded') !== '1') return { kind: 'LOAD' };
    const gen = a.state.get('gen');
    const missing = [...new Set(events.map((e) => e.periodKey).filter((p) => p !== ''))].filter((p) => {
      const fields = this.period(a, p);
      return fields?.get('loaded') !== '1' || fields.get('gen') !== gen;
    });
    if (missing.length) return { kind: 'PERIOD', periods: missing };

    // Working copies, written back at the end, as the script does.
    const state = new Map(a.state);
    const periods = new Map([...new Set(events.map((e) => e.periodKey).filter((p) => p))].map((p) => [p, new Map(this.period(a, p)!)]));
    const newHolds = new Map<string, HoldRecord>();
    const gone = new Set<string>();
    const pending = new Map<string, string>();
    const holdOf = (id: string) => (gone.has(id) ? undefined : (newHolds.get(id) ?? a.holds.get(id)));
    const blocksOf = (walletId: string) => (state.get(`wbl:${walletId}`) ?? '').split(',').filter(Boolean);
    const valid = (blockId: string) => {
      const x = state.get(`bx:${blockId}`) ?? '';
      return x === '' || Number(x) > now;
    };
    const available = (walletId: string) =>
      blocksOf(walletId).reduce((sum, b) => (valid(b) ? sum + n(state.get(`br:${b}`)) - n(state.get(`bh:${b}`)) : sum), 0n);

    const process = (e: ReserveEvent): ReserveResult => {
      if (pending.has(e.idempotencyKey)) return pending.get(e.idempotencyKey) === e.requestHash ? { status: 'PENDING' } : { status: 'REUSED' };
      const existing = this.idem(a, e.idempotencyKey);
      if (existing) {
        const [st, hs, ...rest] = existing.split('|');
        if (hs !== e.requestHash) return { status: 'REUSED' };
        return st === 'D' ? { status: 'DUP', ref: rest.join('|') } : { status: 'PENDING' };
      }
      const P = e.periodKey ? periods.get(e.periodKey)! : undefined;
      let rerate = false;
      const counters = new Map<string, bigint>();
      if (P) {
        for (const c of e.counters) {
          const v = n(P.get(`c:${c.key}`));
          counters.set(c.key, v);
          if (v < c.from || (c.to !== null && v > c.to)) rerate = true;
        }
      }
      let mq: bigint | null = null;
      if (P && e.meterQuantity) {
        mq = n(P.get(`mq:${e.meterQuantity.meter}`));
        if ((e.meterQuantity.from !== null && mq < e.meterQuantity.from) || (e.meterQuantity.to !== null && mq > e.meterQuantity.to)) rerate = true;
      }
      if (rerate) return { status: 'RERATE', counters, meterQuantity: mq };

      // Any string names a hold, '' included (null settles nothing), as in the script.
      const settling = e.settles !== null ? holdOf(e.settles) : undefined;
      if (e.settles !== null && (!settling || Number(settling.exp) <= now)) return { status: 'HOLD_GONE' };
      const released = new Map<string, bigint>();
      for (const [b, amt] of settling?.a ?? []) released.set(b, (released.get(b) ?? 0n) + BigInt(amt));
      const unspent = settling && settling.postpaid && settling.per === e.periodKey ? BigInt(settling.amt) : 0n;

      const walletId = state.get(`wal:${e.currency}`);
      const alloc: Allocation[] = [];
      let soft = false;
      if (walletId) {
        const mode = state.get(`wm:${walletId}`) ?? 'HARD';
        let need = e.amount;
        let mainId: string | undefined;
        for (const b of blocksOf(walletId)) {
          if (need <= 0n) break;
          if (!valid(b)) continue;
          let free = n(state.get(`br:${b}`)) - n(state.get(`bh:${b}`)) + (released.get(b) ?? 0n);
          if (state.get(`bk:${b}`) === 'M') {
            mainId = b;
            if (mode === 'OVERDRAFT') free += n(state.get(`wo:${walletId}`));
            if (mode === 'SOFT') free = need;
          }
          if (free > 0n) {
            const take = free < need ? free : need;
            alloc.push({ blockId: b, amount: take });
            need -= take;
          }
        }
        if (need > 0n) return { status: 'FUNDS', available: available(walletId) };
        if (mode === 'SOFT' && mainId) {
          const mainTake = alloc.find((x) => x.blockId === mainId)?.amount ?? 0n;
          soft = n(state.get(`br:${mainId}`)) - n(state.get(`bh:${mainId}`)) + (released.get(mainId) ?? 0n) - mainTake < 0n;
        }
      } else {
        const cap = state.get(`cap:${e.currency}`);
        if (cap !== undefined && P) {
          const spent = n(P.get(`sp:${e.currency}`)) - unspent;
          if (spent + e.amount > BigInt(cap)) return { status: 'CAP', spent, cap: BigInt(cap) };
        }
      }

      for (const [b, amt] of released) state.set(`bh:${b}`, (n(state.get(`bh:${b}`)) - amt).toString());
      for (const x of alloc) state.set(`bh:${x.blockId}`, (n(state.get(`bh:${x.blockId}`)) + x.amount).toString());
      const after = new Map<string, bigint>();
      if (P) {
        for (const c of e.counters) {
          const v = n(P.get(`c:${c.key}`)) + c.delta;
          P.set(`c:${c.key}`, v.toString());
          after.set(c.key, v);
        }
        if (mq !== null && e.meterQuantity) {
          mq += e.meterQuantity.delta;
          P.set(`mq:${e.meterQuantity.meter}`, mq.toString());
        }
        if (!walletId) P.set(`sp:${e.currency}`, (n(P.get(`sp:${e.currency}`)) - unspent + e.amount).toString());
      }
      if (e.settles !== null) {
        gone.add(e.settles);
        newHolds.delete(e.settles);
      }
      newHolds.set(e.holdId, {
        t: e.kind === 'usage' ? 'u' : 'r',
        k: e.idempotencyKey,
        hs: e.requestHash,
        cur: e.currency,
        amt: e.amount.toString(),
        w: walletId ?? '',
        a: alloc.map((x) => [x.blockId, x.amount.toString()]),
        exp: String(e.expiresAt),
        cr: String(now),
        per: e.periodKey,
        c: P ? e.counters.map((c) => [c.key, c.delta.toString()]) : [],
        mq: P && e.meterQuantity ? [e.meterQuantity.meter, e.meterQuantity.delta.toString()] : null,
        postpaid: !walletId,
      });
      pending.set(e.idempotencyKey, e.requestHash);
      return {
        status: 'OK',
        walletId: walletId ?? null,
        allocations: alloc,
        available: walletId ? available(walletId) : null,
        softLimitExceeded: soft,
        counters: after,
        meterQuantity: mq,
      };
    };

    const results = events.map(process);
    if (atomic && results.some((r) => r.status !== 'OK')) {
      return { kind: 'DONE', results: results.map((r) => (r.status === 'OK' ? { status: 'SKIP' } : r)) };
    }
    a.state = state;
    for (const [key, fields] of periods) a.periods.get(key)!.fields = fields;
    for (const id of gone) a.holds.delete(id);
    for (const [id, hold] of newHolds) {
      a.holds.set(id, hold);
      a.idempotency.set(hold.k, { value: `P|${hold.hs}|${id}`, expireAt: Math.max(now + 1, Number(hold.exp) + 86_400_000) });
    }
    return { kind: 'DONE', results };
  }

  async post(customerId: string, version: bigint, items: PostItem[], now: number): Promise<PostResult> {
    const a = this.account(customerId);
    const loaded = a.state.get('loaded') === '1';
    const rv = n(a.state.get('rv'));
    const gen = loaded ? a.state.get('gen') : undefined;
    // Absent is no fence (not a fence at 0): the script writes version 0 too.
    const fence = (fields: Map<string, string>, field: string) => {
      if (!fields.has(field) || n(fields.get(field)) < version) fields.set(field, version.toString());
    };
    if (!loaded && items.length > 0) fence(a.state, 'fence');
    const add = (field: string, delta: bigint) => a.state.set(field, (n(a.state.get(field)) + delta).toString());
    let found = 0;
    for (const x of items) {
      const done = this.idem(a, x.idempotencyKey) === `D|${x.requestHash}|${x.ref}`;
      const here = !done && a.holds.has(x.holdId);
      if (here) found++;
      if (here && !x.keep) {
        for (const al of x.allocations) {
          add(`br:${al.blockId}`, -al.amount);
          add(`bh:${al.blockId}`, -al.amount);
        }
        a.holds.delete(x.holdId);
      } else if (!here && !done && loaded && version > rv) {
        if (x.keep && x.hold) {
          a.holds.set(x.holdId, x.hold);
          for (const al of x.allocations) add(`bh:${al.blockId}`, al.amount);
        } else if (!x.keep) {
          for (const al of x.allocations) add(`br:${al.blockId}`, -al.amount);
        }
      }
      if (!here && !done && !x.keep && x.periodKey) {
        const P = this.period(a, x.periodKey);
        if (!P || P.get('loaded') !== '1' || P.get('gen') !== gen) {
          if (P) fence(P, 'pf');
          else a.periods.set(x.periodKey, { fields: new Map([['pf', version.toString()]]), expireAt: this.now() + 86_400_000 });
        } else if (version > n(P.get('pv'))) {
          const padd = (f: string, d: bigint) => P.set(f, (n(P.get(f)) + d).toString());
          for (const [k, d] of x.counters) padd(`c:${k}`, d);
          if (x.meterQuantity) padd(`mq:${x.meterQuantity[0]}`, x.meterQuantity[1]);
          if (x.postpaid) padd(`sp:${x.currency}`, x.amount);
        }
      }
      a.idempotency.set(x.idempotencyKey, { value: `D|${x.requestHash}|${x.ref}`, expireAt: this.now() + IDEMPOTENCY_MEMORY_MS });
    }
    const wallets: WalletFigures[] = [];
    if (loaded) {
      for (const walletId of new Set(items.map((x) => x.walletId).filter((w): w is string => !!w))) {
        wallets.push(walletFigures((f) => a.state.get(f), walletId, now));
      }
    }
    return { found, wallets };
  }

  async release(customerId: string, holdIds: string[], forget: boolean): Promise<number> {
    const a = this.account(customerId);
    if (a.state.get('loaded') !== '1') a.state.delete('ld');
    let released = 0;
    for (const id of holdIds) {
      const hold = a.holds.get(id);
      if (!hold) continue;
      for (const [b, amt] of hold.a) a.state.set(`bh:${b}`, (n(a.state.get(`bh:${b}`)) - BigInt(amt)).toString());
      const P = hold.per ? this.period(a, hold.per) : undefined;
      if (P?.get('loaded') === '1') {
        const padd = (f: string, d: bigint) => P.set(f, (n(P.get(f)) + d).toString());
        for (const [k, d] of hold.c) padd(`c:${k}`, -BigInt(d));
        if (hold.mq) padd(`mq:${hold.mq[0]}`, -BigInt(hold.mq[1]));
        if (hold.postpaid) padd(`sp:${hold.cur}`, -BigInt(hold.amt));
      }
      if (forget && this.idem(a, hold.k) === `P|${hold.hs}|${id}`) a.idempotency.delete(hold.k);
      a.holds.delete(id);
      released++;
    }
    return released;
  }

  async sync(customerId: string, change: SyncChange): Promise<boolean> {
    const a = this.account(customerId);
    if (a.state.get('loaded') !== '1') {
      if (change.version === null) a.state.delete('ld');
      else if (!a.state.has('fence') || n(a.state.get('fence')) < change.version) a.state.set('fence', change.version.toString());
      return false;
    }
    for (const w of change.wallets) setWallet(a.state, w);
    for (const b of change.blocks) {
      a.state.set(`bk:${b.id}`, b.kind);
      a.state.set(`bx:${b.id}`, b.expiresAt === null ? '' : String(b.expiresAt));
      if (!a.state.has(`br:${b.id}`)) a.state.set(`br:${b.id}`, '0');
      if (!a.state.has(`bh:${b.id}`)) a.state.set(`bh:${b.id}`, '0');
    }
    for (const [cur, cap] of Object.entries(change.caps)) {
      if (cap === null) a.state.delete(`cap:${cur}`);
      else a.state.set(`cap:${cur}`, cap.toString());
    }
    const marker = String(change.version);
    if (change.version !== null && change.version > n(a.state.get('rv')) && change.deltas.length > 0 && !((a.synced.get(marker) ?? 0) > this.now())) {
      a.synced.set(marker, this.now() + 86_400_000);
      for (const d of change.deltas) a.state.set(`br:${d.blockId}`, (n(a.state.get(`br:${d.blockId}`)) + d.amount).toString());
    }
    return true;
  }

  async beginLoad(customerId: string, periodKey: string | null, token: string): Promise<string | null> {
    const a = this.account(customerId);
    let fields: Map<string, string>;
    if (periodKey === null) {
      if (a.state.get('loaded') === '1') return null;
      fields = a.state;
    } else {
      const gen = a.state.get('gen');
      if (gen === undefined) return null;
      const P = this.period(a, periodKey);
      if (P?.get('loaded') === '1' && P.get('gen') === gen) return null;
      if (!P) a.periods.set(periodKey, { fields: new Map(), expireAt: this.now() + 86_400_000 });
      fields = this.period(a, periodKey)!;
    }
    if (!fields.has('ld')) fields.set('ld', token);
    return fields.get('ld')!;
  }

  async load(customerId: string, snapshot: AccountSnapshot): Promise<LoadOutcome> {
    const a = this.account(customerId);
    if (a.state.get('loaded') === '1') return 'ALREADY';
    if (a.state.get('ld') !== snapshot.token || n(a.state.get('fence')) > snapshot.version) return 'STALE';
    a.state = new Map();
    a.holds = new Map();
    for (const w of snapshot.wallets) setWallet(a.state, w);
    for (const b of snapshot.blocks) {
      a.state.set(`bk:${b.id}`, b.kind);
      a.state.set(`bx:${b.id}`, b.expiresAt === null ? '' : String(b.expiresAt));
      a.state.set(`br:${b.id}`, b.remaining.toString());
      a.state.set(`bh:${b.id}`, '0');
    }
    for (const [cur, cap] of Object.entries(snapshot.caps)) a.state.set(`cap:${cur}`, cap.toString());
    for (const h of snapshot.holds) {
      a.holds.set(h.id, h.record);
      for (const al of h.held) a.state.set(`bh:${al.blockId}`, (n(a.state.get(`bh:${al.blockId}`)) + al.amount).toString());
    }
    a.state.set('rv', snapshot.version.toString());
    a.state.set('gen', snapshot.generation);
    a.state.set('loaded', '1');
    return 'LOADED';
  }

  async loadPeriod(customerId: string, p: PeriodSnapshot): Promise<LoadOutcome> {
    const a = this.account(customerId);
    const gen = a.state.get('gen');
    if (gen === undefined) throw new StateNotLoaded();
    const existing = this.period(a, p.periodKey);
    if (existing?.get('loaded') === '1' && existing.get('gen') === gen) return 'ALREADY';
    if (existing?.get('ld') !== p.token || n(existing.get('pf')) > p.version) return 'STALE';
    const fields = new Map<string, string>();
    for (const [k, v] of p.counters) fields.set(`c:${k}`, v.toString());
    for (const [k, v] of p.meterQuantities) fields.set(`mq:${k}`, v.toString());
    for (const [k, v] of p.spend) fields.set(`sp:${k}`, v.toString());
    fields.set('pv', p.version.toString());
    fields.set('gen', gen);
    fields.set('loaded', '1');
    a.periods.set(p.periodKey, { fields, expireAt: p.expireAt });
    a.loadedPeriods.add(p.periodKey);
    return 'LOADED';
  }

  async inspect(customerId: string, expiredBefore: number | null): Promise<AccountView> {
    const a = this.account(customerId);
    return {
      loaded: a.state.get('loaded') === '1',
      version: n(a.state.get('rv')),
      fields: Object.fromEntries(a.state),
      holds: new Map(a.holds),
      expired: expiredBefore === null ? [] : [...a.holds].filter(([, h]) => Number(h.exp) < expiredBefore).map(([id]) => id),
    };
  }

  async periods(customerId: string): Promise<Map<string, Record<string, string>>> {
    const a = this.account(customerId);
    const out = new Map<string, Record<string, string>>();
    for (const key of a.periods.keys()) {
      const fields = this.period(a, key);
      if (fields) out.set(key, Object.fromEntries(fields));
    }
    return out;
  }

  async drop(customerId: string): Promise<void> {
    const a = this.accounts.get(customerId);
    if (!a) return;
    // As drop.lua: the state, its holds and the periods it loaded go. Idempotency keys and sync
    // markers stay (PostgreSQL backs them), and so do periods only begun or fenced.
    a.state = new Map();
    a.holds = new Map();
    for (const key of a.loadedPeriods) a.periods.delete(key);
    a.loadedPeriods.clear();
  }

  async holders(): Promise<string[]> {
    return [...this.holderSet];
  }

  async forgetHolder(customerId: string): Promise<void> {
    this.holderSet.delete(customerId);
  }
}

function setWallet(state: Map<string, string>, w: { id: string; currency: string; mode: string; overdraft: bigint; order: string[] }): void {
  state.set(`wal:${w.currency}`, w.id);
  state.set(`wm:${w.id}`, w.mode);
  state.set(`wo:${w.id}`, w.overdraft.toString());
  state.set(`wbl:${w.id}`, w.order.join(','));
}
