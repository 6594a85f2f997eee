import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Decimal, formatDecimal, parseDecimal } from '../../src/shared/money/decimal.js';
import { isoCurrencyExponent } from '../../src/shared/money/currencies.js';
import { AppError, ErrorCode } from '../../src/shared/errors.js';
import {
  formatLedgerUnits,
  fromLedgerUnits,
  MAX_LEDGER_UNITS,
  roundToLedgerUnits,
  toLedgerUnits,
  toQuantityUnits,
} from '../../src/shared/money/units.js';

describe('decimal parsing', () => {
  it.each(['0', '12', '-12.5', '0.000000001', '123456789012345678901234567890.123456789'])('accepts %s', (text) => {
    expect(formatDecimal(parseDecimal(text)!)).toBe(new Decimal(text).toFixed());
  });

  it.each(['', ' 1', '1 ', '1e3', '01', '1.', '.5', '+1', 'NaN', 'Infinity', '1,5', '0x10', '--1', '1'.repeat(49)])('refuses %j', (text) => {
    expect(parseDecimal(text)).toBeUndefined();
  });

  it('formats without exponents or trailing zeros', () => {
    expect(formatDecimal(new Decimal('1.500'))).toBe('1.5');
    expect(formatDecimal(new Decimal('-0'))).toBe('0');
    expect(formatDecimal(new Decimal('0.000000000001'))).toBe('0.000000000001');
    expect(formatDecimal(new Decimal('1e30'))).toBe('1000000000000000000000000000000');
  });

  it('adds decimal fractions exactly where floats do not', () => {
    expect(formatDecimal(new Decimal('0.1').plus('0.2'))).toBe('0.3');
    expect(formatDecimal(new Decimal('0.000002').times(1_234_567))).toBe('2.469134');
  });
});

describe('ledger units', () => {
  it('converts exact amounts at 1e-9', () => {
    expect(toLedgerUnits(new Decimal('10.5'))).toBe(10_500_000_000n);
    expect(toLedgerUnits(new Decimal('0.000000001'))).toBe(1n);
    expect(toLedgerUnits(new Decimal('-3'))).toBe(-3_000_000_000n);
    expect(formatLedgerUnits(10_500_000_000n)).toBe('10.5');
    expect(formatLedgerUnits(-1n)).toBe('-0.000000001');
  });

  it('refuses amounts finer than the ledger scale instead of rounding them silently', () => {
    expect(() => toLedgerUnits(new Decimal('0.0000000001'))).toThrow(RangeError);
  });

  it('refuses, as AMOUNT_OUT_OF_RANGE, an amount the PostgreSQL bigint of the ledger cannot hold', () => {
    expect(toLedgerUnits(new Decimal('9223372036.854775807'))).toBe(MAX_LEDGER_UNITS);
    expect(toLedgerUnits(new Decimal('-9223372036.854775807'))).toBe(-MAX_LEDGER_UNITS);
    for (const text of ['9223372036.854775808', '-9223372036.854775808', '99999999999', '1e40']) {
      const refused = (() => {
        try {
          return toLedgerUnits(new Decimal(text));
        } catch (err) {
          return err;
        }
      })();
      expect(refused, text).toBeInstanceOf(AppError);
      expect((refused as AppError).code).toBe(ErrorCode.AMOUNT_OUT_OF_RANGE);
    }
  });

  it('rounds with the mode asked for', () => {
    const amount = new Decimal('0.0000000025');
    expect(roundToLedgerUnits(amount, 'HALF_EVEN')).toBe(2n);
    expect(roundToLedgerUnits(amount, 'HALF_UP')).toBe(3n);
    expect(roundToLedgerUnits(new Decimal('-0.0000000025'), 'FLOOR')).toBe(-3n);
  });

  it('round-trips values beyond 2^53 exactly', () => {
    const big = 9_007_199_254_740_993n; // 2^53 + 1
    expect(toLedgerUnits(fromLedgerUnits(big))).toBe(big);
  });

  it('counts quantities at 1e-6', () => {
    expect(toQuantityUnits(new Decimal('1.25'))).toBe(1_250_000n);
    expect(() => toQuantityUnits(new Decimal('0.0000001'))).toThrow(RangeError);
  });
});

describe('currencies', () => {
  it('knows ISO 4217 exponents', () => {
    expect(isoCurrencyExponent('USD')).toBe(2);
    expect(isoCurrencyExponent('JPY')).toBe(0);
    expect(isoCurrencyExponent('KWD')).toBe(3);
    expect(isoCurrencyExponent('XXX')).toBeUndefined();
  });
});

describe('ledger units as text', () => {
  it('is the text of the decimal value, for any amount and as a string of units too', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n }), (units) => {
        const expected = formatDecimal(new Decimal(units.toString()).div(new Decimal(10).pow(9)));
        return formatLedgerUnits(units) === expected && formatLedgerUnits(units.toString()) === expected;
      }),
      { numRuns: 5000 },
    );
    expect([formatLedgerUnits(0n), formatLedgerUnits(-1n), formatLedgerUnits(1_500_000_000n), formatLedgerUnits('-2000000000')]).toEqual(['0', '-0.000000001', '1.5', '-2']);
  });
});
