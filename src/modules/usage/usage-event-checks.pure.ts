import { Decimal } from '../../shared/money/decimal.js';
import { QUANTITY_SCALE } from '../../shared/money/units.js';
import { unsafeTextProblem, type Checker } from '../../shared/validation.js';
import type { Meter } from '../meters/index.js';

export const MAX_QUANTITY = new Decimal('1e12');
export const MAX_DIMENSIONS = 16;
export const MAX_VALUES = 8;
const KEY = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * A usage quantity: positive (or zero, with `zero`), at most QUANTITY_SCALE decimals, at most
 * MAX_QUANTITY.
 */
export function checkQuantity(check: Checker, path: string, quantity: Decimal | null | undefined, zero = false): Decimal | undefined {
  if (quantity === null || quantity === undefined) return check.fail(path, 'is required');
  if (zero ? quantity.isNegative() : !quantity.greaterThan(0)) return check.fail(path, zero ? 'must not be negative' : 'must be greater than zero');
  if (quantity.decimalPlaces() > QUANTITY_SCALE) return check.fail(path, `must have at most ${QUANTITY_SCALE} decimal places`);
  if (quantity.greaterThan(MAX_QUANTITY)) return check.fail(path, `must be at most ${MAX_QUANTITY.toFixed()}`);
  return quantity;
}

/**
 * The quantity of an event of this meter. COUNT and UNIQUE_COUNT meters count events (or the
 * distinct values they carry): quantity is left out or "1". The others measure a quantity; a
 * RECURRING meter's is the level it sets, which may be 0 (every seat removed).
 */
export function checkMeterQuantity(check: Checker, path: string, quantity: Decimal | null | undefined, meter: Meter): Decimal | undefined {
  if (meter.aggregation !== 'COUNT' && meter.aggregation !== 'UNIQUE_COUNT') return checkQuantity(check, path, quantity, meter.aggregation === 'RECURRING');
  if (quantity && !quantity.equals(1)) {
    const what = meter.aggregation === 'COUNT' ? 'counts events' : `counts distinct values of ${meter.property}`;
    return check.fail(path, `a ${meter.aggregation} meter ${what}: leave quantity out or send "1"`);
  }
  return new Decimal(1);
}

/** A UNIQUE_COUNT meter counts the distinct values of its property: every event must carry one. */
export function checkDistinctValue(check: Checker, path: string, dimensions: Readonly<Record<string, string>>, meter: Meter): void {
  if (meter.aggregation !== 'UNIQUE_COUNT' || !meter.property) return;
  if (dimensions[meter.property] === undefined) check.fail(`${path}.${meter.property}`, `is required: meter ${meter.code} counts its distinct values`);
}

/**
 * Event dimensions: a flat object of string values whose keys the meter declares. Copied into a
 * prototype-less object so no key can reach Object.prototype.
 */
export function checkDimensions(check: Checker, path: string, value: unknown, meter: Meter | null): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  if (value === null || value === undefined) return out;
  if (typeof value !== 'object' || Array.isArray(value)) {
    check.fail(path, 'must be an object of string values');
    return out;
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > MAX_DIMENSIONS) check.fail(path, `must have at most ${MAX_DIMENSIONS} keys`);
  for (const [k, v] of entries.slice(0, MAX_DIMENSIONS)) {
    if (FORBIDDEN_KEYS.has(k) || !KEY.test(k)) check.fail(`${path}.${k}`, 'is not an allowed dimension name');
    else if (meter && !meter.dimensions.includes(k)) check.fail(`${path}.${k}`, `is not a dimension of meter ${meter.code} (${meter.dimensions.join(', ') || 'none'})`);
    else if (typeof v !== 'string' || v.length === 0 || v.length > 200) check.fail(`${path}.${k}`, 'must be a string of 1-200 characters');
    // Else PostgreSQL refuses the event at commit, which used to answer a retryable SERVICE_UNAVAILABLE.
    else if (unsafeTextProblem(v)) check.fail(`${path}.${k}`, unsafeTextProblem(v)!);
    else out[k] = v;
  }
  return out;
}

/** Named decimal amounts an event carries (a provider cost, a transaction amount). */
export function checkValues(check: Checker, path: string, value: unknown): Record<string, Decimal> {
  const out: Record<string, Decimal> = Object.create(null);
  if (value === null || value === undefined) return out;
  if (typeof value !== 'object' || Array.isArray(value)) {
    check.fail(path, 'must be an object of decimal strings');
    return out;
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > MAX_VALUES) check.fail(path, `must have at most ${MAX_VALUES} keys`);
  for (const [k, v] of entries.slice(0, MAX_VALUES)) {
    if (FORBIDDEN_KEYS.has(k) || !KEY.test(k)) check.fail(`${path}.${k}`, 'is not an allowed value name');
    else if (typeof v !== 'string' || !/^(0|[1-9][0-9]{0,17})(\.[0-9]{1,9})?$/.test(v)) check.fail(`${path}.${k}`, 'must be a non-negative decimal string with at most 9 decimals');
    else out[k] = new Decimal(v);
  }
  return out;
}
