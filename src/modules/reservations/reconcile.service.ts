import type { Clock } from '../../shared/clock.js';
import type { AccountRepository } from './account.repository.js';
import type { HoldSweeper } from './hold-sweeper.worker.js';
import type { AccountView, ReservationStore } from './reservation.store.js';

export interface Drift {
  customerId: string;
  what: string;
  postgres: string;
  store: string;
}

export interface ReconcileReport {
  customers: number;
  checked: number;
  drifts: Drift[];
  repaired: number;
}

const n = (v: string | undefined) => BigInt(v ?? '0');

/**
 * Compares what the reservation store holds for every customer with PostgreSQL: block balances,
 * holds against open reservations, and the period counters it has loaded. Stale holds are swept
 * first (they are expected after a crash, not drift). With repair, a drifting customer's state is
 * dropped; the next use loads it again from PostgreSQL.
 */
export class Reconciler {
  constructor(
    private readonly store: ReservationStore,
    private readonly accounts: AccountRepository,
    private readonly sweeper: HoldSweeper,
    private readonly clock: Clock,
    /** Pause between the looks that confirm a difference. */
    private readonly confirmGapMs = 150,
  ) {}

  async run(repair: boolean, customers?: string[]): Promise<ReconcileReport> {
    await this.sweeper.sweep();
    const report: ReconcileReport = { customers: 0, checked: 0, drifts: [], repaired: 0 };
    for (const customerId of customers ?? (await this.accounts.customersWithState())) {
      report.customers++;
      const drifts = await this.check(customerId);
      if (drifts === null) continue;
      report.checked++;
      report.drifts.push(...drifts);
      if (repair && drifts.length) {
        await this.store.drop(customerId);
        report.repaired++;
      }
    }
    return report;
  }

  /**
   * One customer's differences, or null when the store does not hold it. A commit made durable
   * but not yet posted to the store looks like a difference for a few milliseconds, so a
   * difference counts only when it is still there at three looks.
   */
  async check(customerId: string, looks = 3): Promise<Drift[] | null> {
    let persistent: Map<string, Drift> | null = null;
    for (let look = 0; look < looks; look++) {
      if (look > 0) await new Promise((r) => setTimeout(r, this.confirmGapMs));
      const view = await this.store.inspect(customerId, null);
      if (!view.loaded) return look === 0 ? null : [];
      const drifts = [...(await this.compareAccount(customerId, view)), ...(await this.comparePeriods(customerId, view))];
      const seen: Map<string, Drift> = new Map(drifts.map((d) => [d.what, d]));
      persistent = persistent === null ? seen : new Map([...seen].filter(([what]) => persistent!.has(what)));
      if (persistent.size === 0) return [];
    }
    return [...persistent!.values()];
  }

  /** Forgets a customer's store state; the next use loads it from PostgreSQL. */
  async repair(customerId: string): Promise<void> {
    await this.store.drop(customerId);
  }

  private async compareAccount(customerId: string, view: AccountView): Promise<Drift[]> {
    const drifts: Drift[] = [];
    const snap = await this.accounts.snapshot(customerId, this.clock.now());
    const drift = (what: string, postgres: unknown, store: unknown) => drifts.push({ customerId, what, postgres: String(postgres), store: String(store) });
    for (const b of snap.blocks) {
      const cached = view.fields[`br:${b.id}`];
      if (cached === undefined) drift(`block ${b.id} balance`, b.remaining, 'missing');
      else if (BigInt(cached) !== b.remaining) drift(`block ${b.id} balance`, b.remaining, cached);
    }
    const heldByBlock = new Map<string, bigint>();
    for (const hold of view.holds.values()) for (const [b, amt] of hold.a) heldByBlock.set(b, (heldByBlock.get(b) ?? 0n) + BigInt(amt));
    for (const b of snap.blocks) {
      const held = n(view.fields[`bh:${b.id}`]);
      if (held !== (heldByBlock.get(b.id) ?? 0n)) drift(`block ${b.id} held`, heldByBlock.get(b.id) ?? 0n, held);
    }
    const open = new Set(snap.holds.map((h) => h.id));
    const cachedReservations = new Set([...view.holds].filter(([, h]) => h.t === 'r').map(([id]) => id));
    for (const id of open) if (!cachedReservations.has(id)) drift(`reservation ${id}`, 'open', 'no hold');
    for (const id of cachedReservations) if (!open.has(id)) drift(`reservation ${id}`, 'not open', 'held');
    for (const w of snap.wallets) {
      if (view.fields[`wal:${w.currency}`] !== w.id) drift(`wallet for ${w.currency}`, w.id, view.fields[`wal:${w.currency}`] ?? 'missing');
      if (view.fields[`wm:${w.id}`] !== w.mode) drift(`wallet ${w.id} limit mode`, w.mode, view.fields[`wm:${w.id}`] ?? 'missing');
    }
    return drifts;
  }

  private async comparePeriods(customerId: string, view: AccountView): Promise<Drift[]> {
    const drifts: Drift[] = [];
    for (const [key, fields] of await this.store.periods(customerId)) {
      if (fields.loaded !== '1') continue;
      const snap = await this.accounts.periodSnapshot(customerId, new Date(key), 0);
      // Events still in flight have moved the store's counters but are not committed yet.
      const inflight = new Map<string, bigint>();
      const add = (f: string, d: bigint) => inflight.set(f, (inflight.get(f) ?? 0n) + d);
      for (const hold of view.holds.values()) {
        if (hold.per !== key) continue;
        for (const [c, d] of hold.c) add(`c:${c}`, BigInt(d));
        if (hold.mq) add(`mq:${hold.mq[0]}`, BigInt(hold.mq[1]));
        if (hold.postpaid && hold.t === 'u') add(`sp:${hold.cur}`, BigInt(hold.amt));
      }
      const compare = (prefix: string, pg: Map<string, bigint>) => {
        const names = new Set([...pg.keys(), ...Object.keys(fields).filter((f) => f.startsWith(prefix)).map((f) => f.slice(prefix.length))]);
        for (const name of names) {
          const a = pg.get(name) ?? 0n;
          const b = n(fields[`${prefix}${name}`]) - (inflight.get(`${prefix}${name}`) ?? 0n);
          if (a !== b) drifts.push({ customerId, what: `period ${key} ${prefix}${name}`, postgres: String(a), store: String(b) });
        }
      };
      compare('c:', snap.counters);
      compare('mq:', snap.meterQuantities);
      compare('sp:', snap.spend);
    }
    return drifts;
  }
}
