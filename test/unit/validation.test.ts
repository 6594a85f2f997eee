import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/shared/errors.js';
import { newId } from '../../src/shared/ids.js';
import { Decimal } from '../../src/shared/money/decimal.js';
import { Checker, checkAmount } from '../../src/shared/validation.js';
import { canonicalJson, requestHash } from '../../src/modules/idempotency/request-hash.pure.js';

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

describe('request fingerprints across versions', () => {
  it('are the hashes earlier versions stored for the same requests, so a retry after an upgrade still replays', () => {
    // Hashes as the previous implementation (a canonical copy through JSON.stringify) computed them.
    const usage = {
      customer: '0190f3a2-0000-7000-8000-000000000001',
      meter: 'llm_tokens',
      quantity: new Decimal('1000.50'),
      timestamp: new Date('2026-11-30T08:00:00.000Z'),
      dimensions: { tokenType: 'input', model: 'gpt-4o' },
      values: { cost: new Decimal('0.0100') },
    };
    expect(requestHash(usage)).toBe('ed447019ff398e61ba160720f9ed49800ab9c2d72077e30893c062c38fd52983');
  });

  it('write the text a canonical copy through JSON.stringify gives, for any value', () => {
    const reference = (value: unknown): unknown => {
      if (value instanceof Decimal) return value.isZero() ? '0' : value.toFixed();
      if (value instanceof Date) return value.toISOString();
      if (typeof value === 'bigint') return value.toString();
      if (Array.isArray(value)) return value.map(reference);
      if (value && typeof value === 'object') {
        return Object.fromEntries(
          Object.keys(value)
            .sort()
            .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
            .map((k) => [k, reference((value as Record<string, unknown>)[k])]),
        );
      }
      return value;
    };
    const leaf = fc.oneof(
      fc.string(),
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
      fc.constant(undefined),
      fc.bigInt(),
      fc.date({ min: new Date(0), max: new Date('2999-01-01'), noInvalidDate: true }),
      fc.tuple(fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }), fc.integer({ min: 0, max: 12 })).map(([u, s]) => new Decimal(u.toString()).div(new Decimal(10).pow(s))),
    );
    const value = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('node'), { maxLength: 4 }), fc.dictionary(fc.oneof(fc.string(), fc.nat().map(String), fc.constant('4294967295'), fc.constant('01')), tie('node'), { maxKeys: 5 })),
    })).node;
    fc.assert(fc.property(value, (v) => canonicalJson(v) === (JSON.stringify(reference(v)) ?? 'null')), { numRuns: 2000 });
  });
});
