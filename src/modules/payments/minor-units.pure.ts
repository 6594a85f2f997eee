import { LEDGER_SCALE } from '../../shared/money/units.js';

/**
 * Providers count money in minor units of the currency (cents for USD, yen for JPY), as JSON
 * integers; the ledger counts 1e-9 of the unit as bigint. These convert between the two, exactly:
 * an amount with a remainder below the minor unit is refused, never rounded here, and so is one a
 * JavaScript number cannot hold exactly.
 */

const unitOf = (exponent: number): bigint => {
  if (!Number.isInteger(exponent) || exponent < 0 || exponent > LEDGER_SCALE) throw new RangeError(`a currency exponent is 0 to ${LEDGER_SCALE} (got ${exponent})`);
  return 10n ** BigInt(LEDGER_SCALE - exponent);
};

/** Ledger units as minor units for a provider's API; refuses a sub-minor remainder and values past Number.MAX_SAFE_INTEGER. */
export function toMinorUnits(amount: bigint, exponent: number): number {
  const unit = unitOf(exponent);
  if (amount % unit !== 0n) throw new RangeError(`${amount} ledger units are not whole minor units at exponent ${exponent}`);
  const minor = amount / unit;
  if (minor > BigInt(Number.MAX_SAFE_INTEGER) || minor < -BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`${minor} minor units are past what a provider's API takes exactly`);
  return Number(minor);
}

/** A provider's minor units (a JSON integer) as ledger units. */
export function fromMinorUnits(minor: number, exponent: number): bigint {
  if (!Number.isSafeInteger(minor)) throw new RangeError(`${minor} is not an exact integer of minor units`);
  return BigInt(minor) * unitOf(exponent);
}

/** Rounds ledger units up to whole minor units (what a charge must be to bring at least this much). */
export function ceilToMinorUnits(amount: bigint, exponent: number): bigint {
  const unit = unitOf(exponent);
  const rest = ((amount % unit) + unit) % unit;
  return rest === 0n ? amount : amount - rest + unit;
}
