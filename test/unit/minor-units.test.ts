import { describe, expect, it } from 'vitest';
import { ceilToMinorUnits, fromMinorUnits, toMinorUnits } from '../../src/modules/payments/minor-units.pure.js';

/** Ledger units (1e-9) to a provider's minor units (cents, yen) and back: exact or refused. */
describe('minor units', () => {
  it('converts exactly per currency exponent, and back', () => {
    expect(toMinorUnits(100_000_000_000n, 2)).toBe(10000);
    expect(toMinorUnits(1_000_000_000n, 0)).toBe(1);
    expect(toMinorUnits(1_000n, 6)).toBe(1);
    expect(fromMinorUnits(4025, 2)).toBe(40_250_000_000n);
    expect(fromMinorUnits(7, 0)).toBe(7_000_000_000n);
  });

  it('refuses a remainder below the minor unit instead of rounding it', () => {
    expect(() => toMinorUnits(100_005_000_000n, 2)).toThrow(RangeError);
    expect(() => toMinorUnits(1n, 2)).toThrow(/not whole minor units/);
    expect(() => toMinorUnits(1_500_000_000n, 0)).toThrow(RangeError);
  });

  it('refuses what a JavaScript number cannot hold exactly', () => {
    const max = BigInt(Number.MAX_SAFE_INTEGER);
    expect(toMinorUnits(max * 10_000_000n, 2)).toBe(Number.MAX_SAFE_INTEGER);
    expect(() => toMinorUnits((max + 1n) * 10_000_000n, 2)).toThrow(/past what/);
    expect(() => fromMinorUnits(2 ** 53, 2)).toThrow(RangeError);
    expect(() => fromMinorUnits(1.5, 2)).toThrow(RangeError);
  });

  it('rounds up to whole minor units, for a charge that must bring at least the amount', () => {
    expect(ceilToMinorUnits(40_250_000_000n, 2)).toBe(40_250_000_000n);
    expect(ceilToMinorUnits(40_250_000_001n, 2)).toBe(40_260_000_000n);
    expect(ceilToMinorUnits(1n, 0)).toBe(1_000_000_000n);
    expect(() => ceilToMinorUnits(1n, 10)).toThrow(RangeError);
  });
});
