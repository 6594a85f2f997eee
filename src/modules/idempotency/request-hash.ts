import { createHash } from 'node:crypto';
import { Decimal, formatDecimal } from '../../shared/money/decimal.js';

/** Canonical JSON: object keys sorted, decimals in canonical form, dates as ISO strings, undefined dropped. */
function canonical(value: unknown): unknown {
  if (value instanceof Decimal) return formatDecimal(value);
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
        .map((k) => [k, canonical((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/**
 * The fingerprint of a request, to tell a retry (same fingerprint) from a different request
 * that reuses an idempotency key. "1.50" and "1.5" are the same amount and hash the same.
 */
export function requestHash(request: unknown): string {
  return createHash('sha256').update(JSON.stringify(canonical(request))).digest('hex');
}
