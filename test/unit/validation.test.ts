import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/shared/errors.js';
import { newId } from '../../src/shared/ids.js';
import { Decimal } from '../../src/shared/money/decimal.js';
import { Checker, checkAmount } from '../../src/shared/validation.js';
import { requestHash } from '../../src/modules/idempotency/request-hash.js';

describe('input checks', () => {
  it('collects every problem before failing', () => {
    const check = new Checker();
    check.text('name', '', { max: 10, required: true });
    check.text('code', 'x'.repeat(11), { max: 10 });
    checkAmount(check, 'amount', new Decimal('-1'));
    expect(() => check.done()).toThrow(ValidationError);
    try {
      check.done();
    } catch (err) {
      expect((err as ValidationError).problems.map((p) => p.path)).toEqual(['name', 'code', 'amount']);
    }
  });

  it('refuses metadata keys that could reach object prototypes', () => {
    const check = new Checker();
    const value = JSON.parse('{"__proto__": "x", "ok": "y"}');
    expect(check.metadata('metadata', value)).toEqual({ ok: 'y' });
    expect(check.ok).toBe(false);
  });

  it('limits amounts to the ledger scale and a sane magnitude', () => {
    const check = new Checker();
    expect(checkAmount(check, 'a', new Decimal('0.000000001'))?.toFixed()).toBe('0.000000001');
    expect(checkAmount(check, 'b', new Decimal('0.0000000001'))).toBeUndefined();
    expect(checkAmount(check, 'c', new Decimal('1000000000001'))).toBeUndefined();
    expect(checkAmount(check, 'd', new Decimal('0'))).toBeUndefined();
    expect(checkAmount(check, 'e', new Decimal('0'), { zero: true })?.toFixed()).toBe('0');
  });

  it('bounds every amount at a billion, far inside what the ledger holds', () => {
    const check = new Checker();
    expect(checkAmount(check, 'a', new Decimal('1000000000'))?.toFixed()).toBe('1000000000');
    expect(checkAmount(check, 'b', new Decimal('-1000000000'), { negative: true })?.toFixed()).toBe('-1000000000');
    expect(checkAmount(check, 'c', new Decimal('1000000000.000000001'))).toBeUndefined();
    expect(checkAmount(check, 'd', new Decimal('99999999999'))).toBeUndefined();
    expect(checkAmount(check, 'e', new Decimal('-1000000001'), { negative: true })).toBeUndefined();
    expect(() => check.done()).toThrow(ValidationError);
    try {
      check.done();
    } catch (err) {
      expect((err as ValidationError).problems).toEqual([
        { path: 'c', message: 'must be at most 1000000000 in magnitude' },
        { path: 'd', message: 'must be at most 1000000000 in magnitude' },
        { path: 'e', message: 'must be at most 1000000000 in magnitude' },
      ]);
    }
  });

  it('refuses text PostgreSQL cannot store, naming the field', () => {
    const check = new Checker();
    expect(check.text('name', 'a\u0000b', { max: 10 })).toBeUndefined();
    expect(check.text('email', '\uD800@x.io', { max: 10 })).toBeUndefined();
    expect(check.metadata('metadata', { plan: 'ok', note: 'x\uDFFF' })).toEqual({ plan: 'ok' });
    expect(check.text('fine', ' \uD83D\uDE00 ', { max: 10 })).toBe('\uD83D\uDE00');
    try {
      check.done();
    } catch (err) {
      expect((err as ValidationError).problems.map((p) => p.path)).toEqual(['name', 'email', 'metadata.note']);
    }
    expect(check.ok).toBe(false);
  });
});

describe('request fingerprints', () => {
  it('treat equal amounts and reordered keys as the same request', () => {
    expect(requestHash({ a: new Decimal('1.50'), b: 'x' })).toBe(requestHash({ b: 'x', a: new Decimal('1.5') }));
    expect(requestHash({ a: new Decimal('1.5') })).not.toBe(requestHash({ a: new Decimal('1.6') }));
  });
});

describe('ids', () => {
  it('are version 7 UUIDs ordered by time', () => {
    const a = newId(1_700_000_000_000);
    const b = newId(1_700_000_000_001);
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(a < b).toBe(true);
    expect(a.replace(/-/g, '').slice(0, 12)).toBe((1_700_000_000_000).toString(16).padStart(12, '0'));
  });

  it('do not repeat across many draws of the random pool', () => {
    const ids = Array.from({ length: 5_000 }, () => newId(1_700_000_000_000));
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
