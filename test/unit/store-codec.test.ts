import { describe, expect, it } from 'vitest';
import { decodeHold } from '../../src/modules/reservations/store-codec.pure.js';

/** Hold records as Lua's cjson writes them back: empty lists as {}, missing values as null. */
describe('decoding a stored hold', () => {
  const base = { k: 'key', hs: 'hash', cur: 'USD', exp: '1700000000000', cr: '1699999990000' };

  it.each([
    ['a prepaid usage hold', { ...base, t: 'u', amt: '250000000', w: 'w1', a: [['main', '250000000']], per: '2026-11', c: [['tokens', '100000000000000']], mq: ['llm_tokens', '100000000000000'], postpaid: false }],
    ['a postpaid usage hold (no wallet, no allocations)', { ...base, t: 'u', amt: '250000000', w: '', a: {}, per: '2026-11', c: [['tokens', '1']], mq: null, postpaid: true }],
    ['a prepaid authorisation by amount', { ...base, t: 'r', amt: '1000000000', w: 'w1', a: [['main', '1000000000']], per: '2026-11', c: {}, mq: null, postpaid: false }],
    ['a postpaid authorisation by quantity', { ...base, t: 'r', amt: '2000000000', w: '', a: {}, per: '2026-11', c: {}, mq: null, postpaid: true }],
  ])('makes %s whole', (_name, raw) => {
    const hold = decodeHold(raw);
    expect(Array.isArray(hold.a) && Array.isArray(hold.c)).toBe(true);
    expect(hold.a.reduce((s, [, amt]) => s + BigInt(amt), 0n)).toBe(Array.isArray(raw.a) ? BigInt(raw.a[0]![1]!) : 0n);
    expect(hold.c.length).toBe(Array.isArray(raw.c) ? raw.c.length : 0);
    expect(hold.mq === null || hold.mq.length === 2).toBe(true);
    expect(hold).toMatchObject({ t: raw.t, amt: raw.amt, postpaid: raw.postpaid, per: '2026-11' });
  });

  it('never throws on damaged records', () => {
    for (const raw of [null, {}, [], 'x', { a: 'x', c: [1, [2]], mq: ['only one'] }]) {
      const hold = decodeHold(raw);
      expect(hold).toMatchObject({ a: expect.any(Array), c: expect.any(Array), mq: null, amt: '0' });
    }
  });
});
