import type { BalanceMessage } from './live.bus.js';

/**
 * Puts one subscription's balance messages back in ledger order. Instances publish the changes
 * they committed as soon as each commit returns, so a change committed on one instance can reach
 * the bus after the next change committed on another: every subscriber then receives 4→5 before
 * 3→4. A message that starts past the last one passed on is held until the change before it
 * arrives (`offer` then releases both, in order), or until `release` gives up waiting and passes
 * everything held on in ledger order, where the sequence shows the gap.
 *
 * A ledger change moves a wallet's sequence (previousSequence → sequence); a hold change does
 * not (both equal) and belongs after the change that reached its sequence. Messages at or before
 * what was passed on (already seen, or older than the snapshot) are dropped.
 */
export class BalanceOrder {
  /** Per wallet, the sequence of the last message passed on (or of the snapshot). */
  private readonly last = new Map<string, bigint>();
  private readonly held = new Map<string, BalanceMessage[]>();

  /** The wallet's state the subscriber starts from. */
  start(walletId: string, sequence: bigint): void {
    this.last.set(walletId, sequence);
  }

  /** Whether a message waits for the change before it. */
  get holding(): boolean {
    return this.held.size > 0;
  }

  /** The messages to pass on now that `m` arrived, in order (none while it waits). */
  offer(m: BalanceMessage): BalanceMessage[] {
    const last = this.last.get(m.walletId);
    // A wallet the subscriber had no state of (created after it subscribed): start from here.
    if (last === undefined) {
      this.last.set(m.walletId, BigInt(m.sequence));
      return [m];
    }
    const from = startOf(m);
    if (from < last) return [];
    if (from > last) {
      const held = this.held.get(m.walletId) ?? [];
      held.push(m);
      this.held.set(m.walletId, held);
      return [];
    }
    const out = [m];
    this.last.set(m.walletId, BigInt(m.sequence));
    this.drain(m.walletId, out);
    return out;
  }

  /** Gives up waiting: every held message, in ledger order. */
  release(): BalanceMessage[] {
    const out: BalanceMessage[] = [];
    for (const [walletId, held] of [...this.held]) {
      this.held.delete(walletId);
      for (const m of held.sort(byLedgerOrder)) {
        if (startOf(m) < this.last.get(walletId)!) continue;
        out.push(m);
        this.last.set(walletId, BigInt(m.sequence));
      }
    }
    return out;
  }

  /** Passes on the held messages of a wallet that now follow on from what was passed on. */
  private drain(walletId: string, out: BalanceMessage[]): void {
    const held = this.held.get(walletId);
    if (!held) return;
    held.sort(byLedgerOrder);
    while (held.length > 0) {
      const last = this.last.get(walletId)!;
      const from = startOf(held[0]!);
      if (from > last) break;
      const m = held.shift()!;
      if (from < last) continue;
      out.push(m);
      this.last.set(walletId, BigInt(m.sequence));
    }
    if (held.length === 0) this.held.delete(walletId);
  }
}

/** Where a message follows on from: a ledger change from its previous sequence, a hold change from its own. */
function startOf(m: BalanceMessage): bigint {
  return m.sequence === m.previousSequence ? BigInt(m.sequence) : BigInt(m.previousSequence);
}

/** Ledger changes by where they start; a hold change after the ledger change that reached its sequence. */
function byLedgerOrder(a: BalanceMessage, b: BalanceMessage): number {
  const d = startOf(a) - startOf(b);
  if (d !== 0n) return d < 0n ? -1 : 1;
  const holdA = a.sequence === a.previousSequence ? 0 : 1;
  const holdB = b.sequence === b.previousSequence ? 0 : 1;
  return holdA - holdB;
}
