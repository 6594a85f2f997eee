import { performance } from 'node:perf_hooks';
import type { ApolloServerPlugin } from '@apollo/server';
import { unwrapResolverError } from '@apollo/server/errors';
import { getOperationAST, type ExecutionArgs, type ExecutionResult, type GraphQLError, type GraphQLSchema } from 'graphql';
import { AppError, ErrorCode } from '../shared/errors.js';
import type { Metrics } from '../shared/metrics.js';
import { inRequest } from '../shared/request-scope.js';
import { SpanStatusCode, type Span, type Tracing } from '../shared/tracing.js';
import type { RequestContext } from './context.js';

/** Names a caller chose, taken as metric labels first come, up to this many per process; later ones are "other". */
const MAX_CHOSEN_NAMES = 50;
const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/** Codes an error may carry besides the catalogue's: GraphQL's and Apollo's, about the request itself. */
const REQUEST_CODES = ['GRAPHQL_PARSE_FAILED', 'GRAPHQL_VALIDATION_FAILED', 'BAD_REQUEST', 'BAD_USER_INPUT', 'PERSISTED_QUERY_NOT_FOUND', 'PERSISTED_QUERY_NOT_SUPPORTED', 'OPERATION_RESOLUTION_FAILURE'];
const CODES = new Set<string>([...Object.values(ErrorCode), ...REQUEST_CODES]);

/** An error code as a label: one of the fixed set, else "other" (a label never holds what a caller wrote). */
export const codeLabel = (code: unknown): string => (typeof code === 'string' && CODES.has(code) ? code : 'other');

/**
 * Operation names as metric labels, bounded whatever callers send: the names of the schema's
 * root fields (`recordUsage`, and `RecordUsage` as clients name operations after them), then the
 * first MAX_CHOSEN_NAMES other names seen (authenticated callers only reach this far), then
 * "other". Operations without a name are "anonymous".
 */
export class OperationNames {
  private readonly known = new Set<string>(['IntrospectionQuery']);
  private readonly chosen = new Set<string>();

  constructor(schema: GraphQLSchema, private readonly maxChosen = MAX_CHOSEN_NAMES) {
    for (const root of [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()]) {
      for (const field of Object.keys(root?.getFields() ?? {})) {
        this.known.add(field);
        this.known.add(field[0]!.toUpperCase() + field.slice(1));
      }
    }
  }

  label(name: string | null | undefined): string {
    if (!name) return 'anonymous';
    if (this.known.has(name) || this.chosen.has(name)) return name;
    if (this.chosen.size < this.maxChosen && NAME.test(name)) {
      this.chosen.add(name);
      return name;
    }
    return 'other';
  }
}

export interface OperationTelemetry {
  metrics: Metrics;
  tracing: Tracing;
  names: OperationNames;
}

/** `graphql.<type> <name>`: the span name of an operation (its label, so span names stay bounded too). */
const spanName = (type: string, label: string) => `graphql.${type}${label === 'anonymous' ? '' : ` ${label}`}`;

/** Counts and times one operation, and marks its span failed when it answered errors. */
function observe(t: OperationTelemetry, op: { operation: string; type: string }, started: number, codes: string[], span: Span | undefined): void {
  for (const code of codes) t.metrics.graphqlErrors.inc({ code });
  t.metrics.graphqlOperations.inc({ ...op, result: codes[0] ?? 'ok' });
  t.metrics.graphqlDuration.observe(op, (performance.now() - started) / 1000);
  if (codes.length > 0) span?.setStatus({ code: SpanStatusCode.ERROR, message: codes[0] });
}

/**
 * GraphQL over HTTP: counts and times every operation by name, type and result, and names the
 * operation's span (opened by the HTTP handler around Apollo, so that it is the active span of
 * every resolver) `graphql.<type> <name>` with the semantic-convention attributes.
 */
export function operationTelemetryPlugin(t: OperationTelemetry): ApolloServerPlugin<RequestContext> {
  return {
    async requestDidStart() {
      const started = performance.now();
      const span = t.tracing.active();
      const op = { operation: 'none', type: 'unknown' };
      return {
        async didResolveOperation({ operation, operationName }) {
          if (!operation) return;
          const name = operationName ?? operation.name?.value ?? null;
          op.type = operation.operation;
          op.operation = t.names.label(name);
          span?.updateName(spanName(op.type, op.operation));
          span?.setAttributes({ 'graphql.operation.type': op.type, ...(name ? { 'graphql.operation.name': name.slice(0, 100) } : {}) });
        },
        async willSendResponse({ response }) {
          const errors = response.body.kind === 'single' ? (response.body.singleResult.errors ?? []) : [];
          observe(t, op, started, errors.map((e) => codeLabel(e.extensions?.code)), span);
        },
      };
    },
  };
}

/** The code of an execution error before formatting (as the error formatter will show it). */
function codeOf(err: GraphQLError): string {
  const original = unwrapResolverError(err);
  if (original instanceof AppError) return original.code;
  const code = err.extensions?.code;
  return typeof code === 'string' ? codeLabel(code) : ErrorCode.INTERNAL_SERVER_ERROR;
}

const isAsyncIterable = (value: unknown): value is AsyncIterable<unknown> => typeof (value as AsyncIterable<unknown> | null)?.[Symbol.asyncIterator] === 'function';

/**
 * GraphQL over WebSocket: runs one operation (graphql-ws's execute or subscribe) as its own
 * request (its request id on every log line), in a span, counted and timed as over HTTP. A
 * subscription is timed until its stream is set up.
 */
export function observedExecution<R>(t: OperationTelemetry, args: ExecutionArgs, run: () => R | Promise<R>): Promise<R> {
  const started = performance.now();
  const operation = getOperationAST(args.document, args.operationName);
  const name = args.operationName ?? operation?.name?.value ?? null;
  const op = { operation: t.names.label(name), type: operation?.operation ?? 'unknown' };
  const attributes = { 'graphql.operation.type': op.type, ...(name ? { 'graphql.operation.name': name.slice(0, 100) } : {}) };
  return inRequest((args.contextValue as RequestContext).requestId, () =>
    t.tracing.inSpan(spanName(op.type, op.operation), { attributes }, async (span) => {
      const result = await run();
      const errors = isAsyncIterable(result) ? [] : ((result as ExecutionResult).errors ?? []);
      observe(t, op, started, errors.map(codeOf), span);
      return result;
    }),
  );
}

/** An operation refused before it ran over WebSocket (validation, limits): counted as over HTTP. */
export function observeRefused(t: OperationTelemetry, operationName: string | null | undefined, started: number, errors: readonly { extensions?: Record<string, unknown> }[]): void {
  observe(t, { operation: t.names.label(operationName), type: 'unknown' }, started, errors.map((e) => codeLabel(e.extensions?.code)), undefined);
}
