import { AppError, ErrorCode } from '../errors.js';
import { Decimal, formatDecimal, RoundingMode, type RoundingModeName } from './decimal.js';

/**
 * Ledger units. Every amount stored in the ledger or in the reservation store is an integer
 * number of 1e-9 of the currency (or credit) unit: fine enough that per-token prices are
 * exact, coarse enough that a bigint column holds 9.2 billion units of currency.
 */
export const LEDGER_SCALE = 9;
const LEDGER_FACTOR = new Decimal(10).pow(LEDGER_SCALE);

/** Largest magnitude a ledger amount or balance may reach (PostgreSQL bigint). */
export const MAX_LEDGER_UNITS = 9_223_372_036_854_775_807n;

/**
 * Quantity units: usage quantities are integers of 1e-6 of the meter's unit in counters,
 * so fractional quantities (GPU-seconds, gigabytes) count exactly.
 */
export const QUANTITY_SCALE = 6;
const QUANTITY_FACTOR = new Decimal(10).pow(QUANTITY_SCALE);

export function decimalPlaces(value: Decimal): number {
  return value.decimalPlaces();
}

/**
 * Ledger units of an amount that must already be exact at ledger scale, however large. For
 * computations (rating) whose results may pass the ledger's range on the way; what is charged
 * is bounded where it is stored (the database's bigint, mapped to AMOUNT_OUT_OF_RANGE).
 */
export function exactLedgerUnits(amount: Decimal): bigint {
  const scaled = amount.times(LEDGER_FACTOR);
  if (!scaled.isInteger()) throw new RangeError(`amount ${formatDecimal(amount)} has more than ${LEDGER_SCALE} decimal places`);
  return BigInt(scaled.toFixed(0));
}

/**
 * Converts an amount to store, which must be exact at ledger scale. An amount the ledger cannot
 * hold (beyond ±MAX_LEDGER_UNITS) is AMOUNT_OUT_OF_RANGE here, not a bigint PostgreSQL refuses
 * later with an internal error. Money inputs are bounded far below by checkAmount; this is the
 * backstop for any other way an amount gets here.
 */
export function toLedgerUnits(amount: Decimal): bigint {
  const units = exactLedgerUnits(amount);
  if (units > MAX_LEDGER_UNITS || units < -MAX_LEDGER_UNITS) {
    throw new AppError(ErrorCode.AMOUNT_OUT_OF_RANGE, `the amount ${formatDecimal(amount)} is outside the range the ledger can hold`, { amount: formatDecimal(amount) });
  }
  return units;
}

/** Rounds an amount to ledger scale with the given mode, then converts it. */
export function roundToLedgerUnits(amount: Decimal, mode: RoundingModeName = 'HALF_EVEN'): bigint {
  return BigInt(amount.times(LEDGER_FACTOR).toDecimalPlaces(0, RoundingMode[mode]).toFixed(0));
}

export function fromLedgerUnits(units: bigint | string): Decimal {
  return new Decimal(units.toString()).div(LEDGER_FACTOR);
}

/** Ledger units as a decimal string of the currency unit, for the API. */
export function formatLedgerUnits(units: bigint | string): string {
  if (typeof units === 'string' && !/^-?\d+$/.test(units)) return formatDecimal(fromLedgerUnits(units));
  return formatScaled(typeof units === 'string' ? BigInt(units) : units, LEDGER_SCALE);
}

/**
 * An integer of 10^-scale units as a decimal string without trailing zeros: the text
 * formatDecimal gives for the same value, by string arithmetic alone (it is on every reply and
 * live message).
 */
export function formatScaled(units: bigint, scale: number): string {
  if (units === 0n) return '0';
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString().padStart(scale + 1, '0');
  const whole = digits.slice(0, digits.length - scale);
  let end = digits.length;
  while (end > whole.length && digits.charCodeAt(end - 1) === 48) end--;
  const fraction = digits.slice(whole.length, end);
  return `${negative ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}`;
}

export function toQuantityUnits(quantity: Decimal): bigint {
  const scaled = quantity.times(QUANTITY_FACTOR);
  if (!scaled.isInteger()) throw new RangeError(`quantity ${formatDecimal(quantity)} has more than ${QUANTITY_SCALE} decimal places`);
  return BigInt(scaled.toFixed(0));
}

export function fromQuantityUnits(units: bigint | string): Decimal {
  return new Decimal(units.toString()).div(QUANTITY_FACTOR);
}
