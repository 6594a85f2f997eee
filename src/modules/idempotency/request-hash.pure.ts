import { createHash } from 'node:crypto';
import { Decimal, formatDecimal } from '../../shared/money/decimal.js';

/** Keys JavaScript orders first in an object, ascending as numbers: array indexes. */
const INDEX = /^(?:0|[1-9]\d{0,9})$/;
const isIndex = (k: string) => INDEX.test(k) && Number(k) < 4_294_967_295;

/**
 * Canonical JSON of a request: object keys sorted, decimals in canonical form, dates as ISO
 * strings, bigints as strings, undefined members dropped. Written out directly, it is the very
 * text fingerprints have always been taken of (a canonical copy of the value through
 * JSON.stringify), down to the order JavaScript gives index-like keys in that copy, so a retry
 * sent before an upgrade still matches after it.
 */
export function canonicalJson(value: unknown): string {
  if (value instanceof Decimal) return JSON.stringify(formatDecimal(value));
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (typeof value === 'bigint') return `"${value.toString()}"`;
  if (value === undefined || typeof value === 'function' || typeof value === 'symbol') return 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).sort();
  const indexes = keys.filter(isIndex).sort((a, b) => Number(a) - Number(b));
  const ordered = indexes.length === 0 ? keys : [...indexes, ...keys.filter((k) => !isIndex(k))];
  const parts: string[] = [];
  for (const k of ordered) if (obj[k] !== undefined) parts.push(`${JSON.stringify(k)}:${canonicalJson(obj[k])}`);
  return `{${parts.join(',')}}`;
}

/**
 * The fingerprint of a request, to tell a retry (same fingerprint) from a different request
 * that reuses an idempotency key. "1.50" and "1.5" are the same amount and hash the same.
 */
export function requestHash(request: unknown): string {
  return createHash('sha256').update(canonicalJson(request)).digest('hex');
}
