import { Decimal, parseDecimal } from '../shared/money/decimal.js';

/**
 * Exact comparisons of decimal facts (quantities, amounts), which rule files write as strings.
 * json-rules-engine's own numeric operators compare floats and are not allowed in rule files.
 */
export const DECIMAL_OPERATORS = {
  decimalEqual: (a: Decimal, b: Decimal) => a.equals(b),
  decimalGreaterThan: (a: Decimal, b: Decimal) => a.greaterThan(b),
  decimalGreaterThanInclusive: (a: Decimal, b: Decimal) => a.greaterThanOrEqualTo(b),
  decimalLessThan: (a: Decimal, b: Decimal) => a.lessThan(b),
  decimalLessThanInclusive: (a: Decimal, b: Decimal) => a.lessThanOrEqualTo(b),
} as const;
export type DecimalOperator = keyof typeof DECIMAL_OPERATORS;

export const STRING_OPERATORS = ['equal', 'notEqual', 'in', 'notIn', 'contains', 'doesNotContain'] as const;

export const isDecimalOperator = (op: string): op is DecimalOperator => Object.hasOwn(DECIMAL_OPERATORS, op);

const asDecimal = (value: unknown): Decimal | undefined =>
  value instanceof Decimal ? value : typeof value === 'string' ? parseDecimal(value) : undefined;

/** Evaluates a decimal operator; a fact that is not a decimal never matches. */
export function evaluateDecimal(op: DecimalOperator, fact: unknown, value: unknown): boolean {
  const a = asDecimal(fact);
  const b = asDecimal(value);
  return a !== undefined && b !== undefined && DECIMAL_OPERATORS[op](a, b);
}
