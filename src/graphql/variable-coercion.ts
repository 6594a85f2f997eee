/**
 * Variables that do not coerce to their declared types, for HTTP and WebSocket alike: one
 * VALIDATION_FAILED error listing each problem (`fields`: `{ path, message }`), like any other
 * bad input, instead of graphql-js's one error per problem (Apollo's BAD_USER_INPUT over HTTP,
 * errors without a code over WebSocket).
 *
 * - Paths: the variable's name, then object fields and list indexes joined by "." (the paths of
 *   `findUnsafeStrings` and of services' checks): `input.events.3.quantity`. A missing or unknown
 *   field of an input object is reported at the field itself (`input.meterCode`), not its object.
 * - Messages are graphql-js's own for the reason (the scalar's, for a bad scalar), without the
 *   "Variable … got invalid value" prefix, which repeats the path.
 * - At most MAX_VARIABLE_PROBLEMS problems; [] when every variable coerces. Variables the
 *   operation does not declare are ignored, as graphql-js does.
 * - Worked out only once graphql-js has refused the variables, so an operation that runs pays
 *   nothing for it (coercing a batch of 1,000 events takes milliseconds).
 */
import type { ApolloServerPlugin } from '@apollo/server';
import {
  coerceInputValue,
  getOperationAST,
  type GraphQLError,
  isInputType,
  isNonNullType,
  typeFromAST,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLFormattedError,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import { ValidationError, type FieldProblem } from '../shared/errors.js';
import { toGraphQLError } from './errors.js';

/** The most problems reported for one operation. */
export const MAX_VARIABLE_PROBLEMS = 20;

export function variableProblems(schema: GraphQLSchema, operation: OperationDefinitionNode, inputs: Readonly<Record<string, unknown>> | null | undefined): FieldProblem[] {
  const values = inputs ?? {};
  const problems: FieldProblem[] = [];
  for (const definition of operation.variableDefinitions ?? []) {
    if (problems.length >= MAX_VARIABLE_PROBLEMS) break;
    const name = definition.variable.name.value;
    const type = typeFromAST(schema, definition.type);
    // Validation has refused a document whose variable types are unknown or not input types.
    if (!type || !isInputType(type)) continue;
    if (!Object.hasOwn(values, name)) {
      if (!definition.defaultValue && isNonNullType(type)) problems.push({ path: name, message: `is required (${String(type)})` });
      continue;
    }
    const value = values[name];
    if (value === null && isNonNullType(type)) {
      problems.push({ path: name, message: `must not be null (${String(type)})` });
      continue;
    }
    coerceInputValue(value, type, (path, _invalid, error) => problems.push(problemAt([name, ...path], error)));
  }
  return problems.slice(0, MAX_VARIABLE_PROBLEMS);
}

const MISSING_FIELD = /^Field "([^"]+)" of required type "([^"]+)" was not provided\.$/;
const UNKNOWN_FIELD = /^Field "([^"]+)" is not defined by type "([^"]+)"\.(.*)$/s;

/** One problem at its dotted path; a missing or unknown field is moved from its object to itself. */
function problemAt(path: ReadonlyArray<string | number>, error: GraphQLError): FieldProblem {
  const at = path.join('.');
  const missing = MISSING_FIELD.exec(error.message);
  if (missing) return { path: `${at}.${missing[1]}`, message: `is required (${missing[2]})` };
  const unknown = UNKNOWN_FIELD.exec(error.message);
  if (unknown) return { path: `${at}.${unknown[1]}`, message: `is not a field of ${unknown[2]}${unknown[3] ? `.${unknown[3]}` : ''}` };
  return { path: at, message: error.message };
}

/** The one error for variables that do not coerce, or undefined when they all do. */
export function variableError(schema: GraphQLSchema, operation: OperationDefinitionNode, inputs: Readonly<Record<string, unknown>> | null | undefined): GraphQLError | undefined {
  const problems = variableProblems(schema, operation, inputs);
  return problems.length > 0 ? toGraphQLError(new ValidationError(problems)) : undefined;
}

/**
 * Over WebSocket: a result with errors and no data is what graphql-js answers for variables that
 * do not coerce (and for a subscription whose source failed); the variables are then checked, and
 * their problems answered as one error.
 */
export function withVariableError<R extends ExecutionResult | AsyncIterable<unknown>>(args: ExecutionArgs, result: R): R | ExecutionResult {
  if (Symbol.asyncIterator in result || !result.errors?.length || 'data' in result) return result;
  const operation = getOperationAST(args.document, args.operationName);
  const error = operation ? variableError(args.schema, operation, args.variableValues) : undefined;
  return error ? { errors: [error] } : result;
}

type Formatter = (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;

/**
 * Over HTTP: once Apollo has refused the variables (BAD_USER_INPUT, one error each), the
 * response carries one error listing every problem instead, formatted as every error is.
 * Apollo's status stays (400, which the HTTP handler answers as 200 for `application/json`).
 */
export function variableErrorPlugin(formatError: Formatter): ApolloServerPlugin {
  return {
    async requestDidStart() {
      let refused = false;
      return {
        async didEncounterErrors({ errors }) {
          if (errors.some((e) => e.extensions?.code === 'BAD_USER_INPUT')) refused = true;
        },
        async willSendResponse({ response, operation, request, schema }) {
          if (!refused || !operation || response.body.kind !== 'single') return;
          const error = variableError(schema, operation, request.variables);
          if (error) response.body.singleResult.errors = [formatError(error.toJSON(), error)];
        },
      };
    },
  };
}
