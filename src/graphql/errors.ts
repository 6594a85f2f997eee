import { unwrapResolverError } from '@apollo/server/errors';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import type { Logger } from 'pino';
import { asUnavailable, isConnectionError } from '../db/sql.js';
import { AppError, ErrorCode, type FieldProblem } from '../shared/errors.js';
import type { Limits } from '../config/config.js';
import { LIMIT_MARK, tokenLimitError } from './operation-limits.js';

/** Codes of errors about the request itself, which GraphQL or Apollo raise before any resolver. */
const REQUEST_ERROR_CODES = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
]);

/** The extensions an AppError shows: its code, whether a retry may succeed, and its details. */
export function appErrorExtensions(err: AppError): Record<string, unknown> {
  return { code: err.code, retryable: err.retryable, ...err.details };
}

/** A GraphQLError carrying an AppError's code, for places outside resolvers (context, sockets). */
export function toGraphQLError(err: AppError): GraphQLError {
  const status = err.httpStatus;
  return new GraphQLError(err.message, {
    extensions: { ...appErrorExtensions(err), ...(status ? { http: { status } } : {}) },
  });
}

/**
 * Maps every error to the catalogue: AppErrors keep their code and message, request errors
 * keep theirs (bad variables become VALIDATION_FAILED), and anything else is logged and masked.
 */
export function createErrorFormatter(logger: Logger, includeStackTraces: boolean, options: { hideSchemaDetails?: boolean; limits?: Limits } = {}) {
  const format = formatWith(logger, includeStackTraces, options.limits);
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const out = format(formatted, error);
    if (!options.hideSchemaDetails) return out;
    // "Did you mean …?" names fields and types a caller did not know of: not in production.
    const fields = out.extensions?.fields;
    const hidden = Array.isArray(fields) ? { extensions: { ...out.extensions, fields: fields.map((f: FieldProblem) => ({ ...f, message: withoutSuggestion(f.message) })) } } : {};
    return { ...out, message: withoutSuggestion(out.message), ...hidden };
  };
}

const withoutSuggestion = (message: string): string => message.replace(/ ?Did you mean [^?]*\?/g, '');

function formatWith(logger: Logger, includeStackTraces: boolean, limits: Limits | undefined) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const unwrapped = unwrapResolverError(error);
    // A database that cannot be reached is a retryable outage, wherever the query came from.
    const original = isConnectionError(unwrapped) ? asUnavailable(unwrapped) : unwrapped;
    const base = { message: formatted.message, locations: formatted.locations, path: formatted.path };
    if (original instanceof AppError) {
      return { ...base, message: original.message, extensions: appErrorExtensions(original) };
    }
    const code = formatted.extensions?.code;
    // Limits on depth, aliases and directives report through validation, tokens through parsing.
    if (formatted.extensions?.[LIMIT_MARK]) {
      const { [LIMIT_MARK]: _mark, ...extensions } = formatted.extensions;
      return { ...base, extensions: { ...extensions, code: ErrorCode.QUERY_TOO_COMPLEX, retryable: false } };
    }
    const tokens = code === 'GRAPHQL_PARSE_FAILED' && limits ? tokenLimitError(formatted, limits) : undefined;
    if (tokens) return { ...base, message: tokens.message, extensions: { ...tokens.extensions, [LIMIT_MARK]: undefined } };
    if (code === 'BAD_USER_INPUT') {
      return { ...base, extensions: { code: ErrorCode.VALIDATION_FAILED, retryable: false, fields: [variableProblem(formatted.message)] } };
    }
    if (typeof code === 'string' && REQUEST_ERROR_CODES.has(code)) {
      return { ...base, extensions: { ...formatted.extensions, retryable: false } };
    }
    if (original instanceof GraphQLError && !original.originalError) {
      // Raised by toGraphQLError outside a resolver (authentication in the context function).
      const { http: _status, ...extensions } = original.extensions;
      const own = extensions.code;
      if (typeof own === 'string' && own !== ErrorCode.INTERNAL_SERVER_ERROR && Object.hasOwn(ErrorCode, own)) {
        return { ...base, extensions };
      }
    }
    logger.error({ err: original, path: formatted.path }, 'unexpected error in a GraphQL operation');
    return {
      message: 'Internal server error',
      path: formatted.path,
      extensions: {
        code: ErrorCode.INTERNAL_SERVER_ERROR,
        retryable: false,
        ...(includeStackTraces && original instanceof Error ? { stacktrace: original.stack?.split('\n') } : {}),
      },
    };
  };
}

/**
 * Where a variable that does not coerce went wrong, from graphql-js's message: `Variable
 * "$input" got invalid value … at "input.timestamp"; <reason>` becomes that path and reason.
 */
function variableProblem(message: string): { path: string; message: string } {
  const variable = /^Variable "\$([^"]+)"/.exec(message)?.[1] ?? '';
  const at = / at "([^"]+)";/.exec(message)?.[1];
  const reason = message.includes('; ') ? message.slice(message.indexOf('; ') + 2) : message;
  return { path: at ?? variable, message: reason };
}
