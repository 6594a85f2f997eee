import { ValidationError, type FieldProblem } from './errors.js';
import { Decimal } from './money/decimal.js';
import { LEDGER_SCALE } from './money/units.js';

/**
 * Text PostgreSQL cannot store: NUL (U+0000), which `text` and `jsonb` refuse, and a lone UTF-16
 * surrogate (a high one not followed by a low one, or a low one without a high one before it),
 * which has no UTF-8 encoding. Matched on code units, hence no `u` flag.
 */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why a string cannot be stored as text, or undefined when it can. The one definition of "unsafe text". */
export function unsafeTextProblem(value: string): string | undefined {
  if (value.includes('\u0000')) return 'must not contain NUL characters (U+0000)';
  if (LONE_SURROGATE.test(value)) return 'must not contain unpaired UTF-16 surrogates (malformed Unicode)';
  return undefined;
}

/**
 * Collects every problem with an input before failing, so a caller learns all that is wrong
 * in one round trip. Checks return the value they accept, typed, or undefined.
 */
export class Checker {
  private readonly problems: FieldProblem[] = [];

  fail(path: string, message: string): undefined {
    this.problems.push({ path, message });
    return undefined;
  }

  /** A trimmed, non-empty string of at most `max` characters. */
  text(path: string, value: string | null | undefined, opts: { max: number; required?: boolean; pattern?: RegExp; hint?: string }): string | undefined {
    if (value === null || value === undefined) {
      return opts.required ? this.fail(path, 'is required') : undefined;
    }
    // The operation guard refuses such text first; services check again for callers that bypass it.
    const unsafe = unsafeTextProblem(value);
    if (unsafe) return this.fail(path, unsafe);
    const trimmed = value.trim();
    if (trimmed.length === 0) return opts.required ? this.fail(path, 'must not be empty') : undefined;
    if (trimmed.length > opts.max) return this.fail(path, `must be at most ${opts.max} characters (got ${trimmed.length})`);
    if (opts.pattern && !opts.pattern.test(trimmed)) return this.fail(path, opts.hint ?? `must match ${opts.pattern}`);
    return trimmed;
  }

  idempotencyKey(path: string, value: string | null | undefined): string | undefined {
    return this.text(path, value, {
      max: 255,
      required: true,
      pattern: /^[\x21-\x7e]+$/,
      hint: 'must be 1-255 printable ASCII characters without spaces',
    });
  }

  email(path: string, value: string | null | undefined): string | undefined {
    return this.text(path, value, { max: 320, pattern: /^[^\s@]+@[^\s@]+\.[^\s@]+$/, hint: 'must be an email address' });
  }

  /** Flat string-to-string metadata with bounded size. */
  metadata(path: string, value: unknown): Record<string, string> | undefined {
    if (value === null || value === undefined) return undefined;
    if (typeof value !== 'object' || Array.isArray(value)) return this.fail(path, 'must be an object of string values');
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length > 50) return this.fail(path, 'must have at most 50 keys');
    const out: Record<string, string> = {};
    for (const [k, v] of entries) {
      if (!/^[A-Za-z0-9_.-]{1,64}$/.test(k) || k === '__proto__' || k === 'constructor' || k === 'prototype') {
        this.fail(`${path}.${k}`, 'keys must be 1-64 characters of letters, digits, "_", "." or "-"');
        continue;
      }
      if (typeof v !== 'string') {
        this.fail(`${path}.${k}`, 'must be a string');
        continue;
      }
      if (v.length > 500) {
        this.fail(`${path}.${k}`, 'must be at most 500 characters');
        continue;
      }
      const unsafe = unsafeTextProblem(v);
      if (unsafe) {
        this.fail(`${path}.${k}`, unsafe);
        continue;
      }
      out[k] = v;
    }
    return out;
  }

  integer(path: string, value: number | null | undefined, opts: { min: number; max: number }): number | undefined {
    if (value === null || value === undefined) return undefined;
    if (!Number.isInteger(value) || value < opts.min || value > opts.max) {
      return this.fail(path, `must be an integer from ${opts.min} to ${opts.max}`);
    }
    return value;
  }

  get ok(): boolean {
    return this.problems.length === 0;
  }

  /** Throws VALIDATION_FAILED listing every problem, if there is any. */
  done(): void {
    if (this.problems.length > 0) throw new ValidationError([...this.problems]);
  }
}


/**
 * Largest amount accepted in one money input: a billion currency (or credit) units. The ledger
 * holds about 9.2 billion per balance (PostgreSQL bigint of 1e-9 units, MAX_LEDGER_UNITS), so one
 * input can never overflow a column by itself, and a few at the bound still leave room to sum.
 */
export const MAX_INPUT_AMOUNT = new Decimal('1e9');

export interface AmountRule {
  /** Allow zero. Default false: amounts must be positive. */
  zero?: boolean;
  /** Allow negative amounts (adjustments). */
  negative?: boolean;
}

/** A money amount: at most LEDGER_SCALE decimals, at most MAX_INPUT_AMOUNT in magnitude, sign as allowed. */
export function checkAmount(check: Checker, path: string, value: Decimal | null | undefined, rule: AmountRule = {}): Decimal | undefined {
  if (value === null || value === undefined) return check.fail(path, 'is required');
  if (value.isZero() && !rule.zero) return check.fail(path, 'must not be zero');
  if (value.isNegative() && !value.isZero() && !rule.negative) return check.fail(path, 'must not be negative');
  if (value.decimalPlaces() > LEDGER_SCALE) return check.fail(path, `must have at most ${LEDGER_SCALE} decimal places`);
  if (value.abs().greaterThan(MAX_INPUT_AMOUNT)) return check.fail(path, `must be at most ${MAX_INPUT_AMOUNT.toFixed()} in magnitude`);
  return value;
}
