import { GraphQLError, GraphQLScalarType, type ValueNode } from 'graphql';
import { GraphQLDateTimeISO } from 'graphql-scalars';

/** The earliest instant an input may name: the Unix epoch. No billing data predates it. */
export const MIN_INPUT_INSTANT = new Date('1970-01-01T00:00:00.000Z');

/**
 * Inputs must be before this instant. RFC 3339 writes four-digit years, and the API derives
 * later instants from what it is given (period ends, the next period billed in advance, expiry,
 * local times up to 14 hours ahead): a thousand years of room keeps every instant it writes back
 * readable by this scalar.
 */
export const MAX_INPUT_INSTANT = new Date('9000-01-01T00:00:00.000Z');

function inRange(value: unknown): Date {
  const at = value as Date;
  const t = at.getTime();
  if (!(t >= MIN_INPUT_INSTANT.getTime() && t < MAX_INPUT_INSTANT.getTime())) {
    throw new GraphQLError(`${Number.isFinite(t) ? at.toISOString() : 'the date'} is outside the instants this API accepts: from 1970-01-01T00:00:00Z up to (not including) 9000-01-01T00:00:00Z`);
  }
  return at;
}

const iso = GraphQLDateTimeISO.toConfig();

/**
 * The `DateTimeISO` scalar type-graphql gives every `Date` (graphql-scalars' GraphQLDateTimeISO),
 * with the same name, description and serialization, so the schema does not change, and with
 * inputs limited to [MIN_INPUT_INSTANT, MAX_INPUT_INSTANT). A date such as the year 50 is refused
 * here, once for every input, before any calendar arithmetic sees it. A bad variable is
 * VALIDATION_FAILED (the message names the variable and the path inside it); a bad literal in
 * the document is GRAPHQL_VALIDATION_FAILED, as for every scalar.
 */
export const DateTimeScalar = new GraphQLScalarType<Date, string>({
  ...iso,
  serialize: iso.serialize as (value: unknown) => string,
  parseValue: (value) => inRange(iso.parseValue!(value)),
  parseLiteral: (ast: ValueNode, variables) => inRange(iso.parseLiteral!(ast, variables)),
});
