import { GraphQLError, GraphQLScalarType, Kind } from 'graphql';
import { Decimal, formatDecimal, parseDecimal } from '../../shared/money/decimal.js';

function parse(value: unknown): Decimal {
  if (typeof value !== 'string') {
    throw new GraphQLError('Decimal values are strings such as "12.50", never JSON numbers');
  }
  const parsed = parseDecimal(value);
  if (!parsed) {
    throw new GraphQLError(`"${value.slice(0, 60)}" is not a decimal: write digits with an optional "-" and fraction, e.g. "-12.50"`);
  }
  return parsed;
}

/** Exact decimal numbers as strings. Inputs arrive as Decimal instances; outputs accept either. */
export const DecimalScalar = new GraphQLScalarType<Decimal, string>({
  name: 'Decimal',
  description: 'An exact decimal number written as a string, such as "12.50" or "0.000002". Never a float.',
  serialize(value) {
    if (typeof value === 'string') return value;
    if (value instanceof Decimal) return formatDecimal(value);
    throw new GraphQLError('Decimal fields must resolve to a string or a Decimal');
  },
  parseValue: parse,
  parseLiteral(ast) {
    if (ast.kind !== Kind.STRING) throw new GraphQLError('Decimal literals are strings such as "12.50"');
    return parse(ast.value);
  },
});
