import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BalanceOrder } from '../../src/modules/live/balance-order.pure.js';
import type { BalanceMessage } from '../../src/modules/live/live.bus.js';

const message = (walletId: string, previous: number, sequence: number, cause: BalanceMessage['cause'] = 'USAGE'): BalanceMessage => ({
  type: 'balance',
  customerId: 'c',
  walletId,
  currency: 'USD',
  balance: '0',
  available: '0',
  held: '0',
  change: previous === sequence ? '0' : '-1',
  cause,
  sequence: String(sequence),
  previousSequence: String(previous),
  at: '2026-11-30T00:00:00.000Z',
});

/** A wallet's changes from `from`: ledger changes, each possibly followed by a hold change at its sequence. */
const chain = (walletId: string, from: number, steps: boolean[]): BalanceMessage[] =>
  steps.flatMap((hold, i) => [message(walletId, from + i, from + i + 1), ...(hold ? [message(walletId, from + i + 1, from + i + 1, 'HOLD')] : [])]);

const key = (m: BalanceMessage) => `${m.walletId}:${m.previousSequence}>${m.sequence}:${m.cause}`;

describe('BalanceOrder', () => {
  it('passes every ledger change on in ledger order, whatever order the bus delivers them in, and a hold change only while it is current', () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { minLength: 1, maxLength: 12 }), fc.array(fc.boolean(), { maxLength: 8 }), fc.infiniteStream(fc.nat()), (a, b, picks) => {
        const expected = { a: chain('a', 5, a), b: chain('b', 0, b) };
        const pending = [...expected.a, ...expected.b];
        const order = new BalanceOrder();
        order.start('a', 5n);
        order.start('b', 0n);
        const out: BalanceMessage[] = [];
        const it = picks[Symbol.iterator]();
        while (pending.length > 0) out.push(...order.offer(pending.splice(it.next().value % pending.length, 1)[0]!));
        expect(order.holding).toBe(false);
        for (const [walletId, messages] of Object.entries(expected)) {
          const passed = out.filter((m) => m.walletId === walletId);
          // Every ledger change, in order; a hold change only if it came before the next ledger change.
          expect(passed.filter((m) => m.cause !== 'HOLD').map(key)).toEqual(messages.filter((m) => m.cause !== 'HOLD').map(key));
          const positions = passed.map((m) => messages.findIndex((e) => key(e) === key(m)));
          expect(positions).toEqual([...positions].sort((x, y) => x - y));
          expect(new Set(positions).size).toBe(positions.length);
        }
      }),
    );
  });

  it('drops what the snapshot or an earlier message already showed, and duplicates', () => {
    const order = new BalanceOrder();
    order.start('a', 3n);
    expect(order.offer(message('a', 2, 3))).toEqual([]);
    expect(order.offer(message('a', 2, 2, 'HOLD'))).toEqual([]);
    expect(order.offer(message('a', 3, 3, 'HOLD')).map(key)).toEqual(['a:3>3:HOLD']);
    expect(order.offer(message('a', 3, 4)).map(key)).toEqual(['a:3>4:USAGE']);
    expect(order.offer(message('a', 3, 4))).toEqual([]);
  });

  it('gives up waiting for a change that never comes: what it held, in order, with the gap showing', () => {
    const order = new BalanceOrder();
    order.start('a', 1n);
    expect(order.offer(message('a', 4, 5))).toEqual([]);
    expect(order.offer(message('a', 2, 3))).toEqual([]);
    expect(order.holding).toBe(true);
    expect(order.release().map(key)).toEqual(['a:2>3:USAGE', 'a:4>5:USAGE']);
    expect(order.holding).toBe(false);
    expect(order.offer(message('a', 1, 2))).toEqual([]);
    expect(order.offer(message('a', 5, 6)).map(key)).toEqual(['a:5>6:USAGE']);
  });

  it('starts a wallet it has no state of from its first message', () => {
    const order = new BalanceOrder();
    expect(order.offer(message('n', 7, 8)).map(key)).toEqual(['n:7>8:USAGE']);
    expect(order.offer(message('n', 9, 10))).toEqual([]);
  });
});
