import { describe, expect, it } from 'vitest';
import { decodeHold, scriptKeys } from '../../src/modules/reservations/store-codec.pure.js';

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

/** The keys each script call declares: the state's five first, then each key of the request once. */
describe('script keys', () => {
  const STATE = ['s', 'h', 'hx', 'ps', 'never'];
  const event = (k: string, per: string) => ({ idempotencyKey: k, periodKey: per }) as Parameters<typeof scriptKeys.reserve>[0][number];

  it('declare every idempotency key and every period of a batch, each once', () => {
    expect(scriptKeys.reserve([event('a', '2026-11'), event('b', '2026-11'), event('a', '2026-12'), event('c', '')])).toEqual([...STATE, 'i:a', 'p:2026-11', 'i:b', 'p:2026-12', 'i:c']);
    expect(scriptKeys.post([{ idempotencyKey: 'k', periodKey: '' } as Parameters<typeof scriptKeys.post>[0][number]])).toEqual([...STATE, 'i:k']);
  });

  it('declare what a hold, a period, a versioned sync and a drop touch', () => {
    expect(scriptKeys.release([{ k: 'a', per: '2026-11' }, { k: 'b', per: '' }])).toEqual([...STATE, 'i:a', 'p:2026-11', 'i:b']);
    expect(scriptKeys.period(null)).toEqual(STATE);
    expect(scriptKeys.period('2026-11')).toEqual([...STATE, 'p:2026-11']);
    expect(scriptKeys.sync({ version: 12n, wallets: [], blocks: [], deltas: [], caps: {} })).toEqual([...STATE, 'sv:12']);
    expect(scriptKeys.sync({ version: null, wallets: [], blocks: [], deltas: [], caps: {} })).toEqual(STATE);
    expect(scriptKeys.drop(['2026-11', '2026-12'])).toEqual([...STATE, 'p:2026-11', 'p:2026-12']);
    expect(scriptKeys.state()).toEqual(STATE);
  });
});
