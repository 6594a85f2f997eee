import { Decimal as DecimalJs } from 'decimal.js';

/**
 * The one decimal type used for money and quantities. 64 significant digits keep every sum
 * and product of in-range values exact; the only inexact step is an explicit rounding.
 */
export const Decimal = DecimalJs.clone({
  precision: 64,
  rounding: DecimalJs.ROUND_HALF_EVEN,
  toExpNeg: -64,
  toExpPos: 64,
});
export type Decimal = InstanceType<typeof Decimal>;

/** Rounding modes we allow in configuration and rule files, mapped to decimal.js modes. */
export const RoundingMode = {
  HALF_EVEN: DecimalJs.ROUND_HALF_EVEN,
  HALF_UP: DecimalJs.ROUND_HALF_UP,
  UP: DecimalJs.ROUND_UP,
  DOWN: DecimalJs.ROUND_DOWN,
  CEILING: DecimalJs.ROUND_CEIL,
  FLOOR: DecimalJs.ROUND_FLOOR,
} as const;
export type RoundingModeName = keyof typeof RoundingMode;

/** A plain decimal literal: optional minus, digits, optional fraction. No exponent, no spaces. */
export const DECIMAL_PATTERN = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?$/;
export const MAX_DECIMAL_LENGTH = 48;

/** Parses a decimal literal; returns undefined when the text is not one. */
export function parseDecimal(text: string): Decimal | undefined {
  if (text.length === 0 || text.length > MAX_DECIMAL_LENGTH || !DECIMAL_PATTERN.test(text)) return undefined;
  return new Decimal(text);
}

/** The canonical text of a decimal: no exponent, no trailing fractional zeros, "-0" as "0". */
export function formatDecimal(value: Decimal): string {
  if (value.isZero()) return '0';
  return value.toFixed();
}

export const ZERO = new Decimal(0);
