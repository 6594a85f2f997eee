import {
  execute,
  getOperationAST,
  GraphQLError,
  NoSchemaIntrospectionCustomRule,
  parse,
  specifiedRules,
  subscribe,
  validate,
  type DocumentNode,
  type ExecutionArgs,
  type GraphQLFormattedError,
  type GraphQLSchema,
} from 'graphql';
import { performance } from 'node:perf_hooks';
import type { Limits } from '../config/config.js';
import { ErrorCode } from '../shared/errors.js';
import type { OperationGuard } from './operation-guard.js';
import { limitRules, tokenLimitError } from './operation-limits.js';
import type { Context, SubscribePayload } from 'graphql-ws';
import { useServer, type Extra } from 'graphql-ws/use/ws';
import type { WebSocketServer } from 'ws';
import { newId } from '../shared/ids.js';
import { inRequest } from '../shared/request-scope.js';
import type { Principal } from '../modules/api-keys/index.js';
import type { LiveFeeds } from '../modules/live/index.js';
import type { RequestContext } from './context.js';
import { CREDENTIAL_CLOSED, type CredentialSockets } from './credential-sockets.js';
import { observedExecution, observeRefused, type OperationTelemetry } from './operation-telemetry.js';
import { withVariableError } from './variable-coercion.js';

/** Close code for a socket beyond its credential's cap (graphql-ws uses 4429 for too many requests). */
export const TOO_MANY_SOCKETS = 4429;

type Formatter = (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;

interface SocketExtra extends Extra {
  principal?: Principal;
  /** Stops tracking the socket for its credential's expiry and revocation. */
  untrack?: () => void;
  /** Ids of its subscriptions streaming now (counted in billing_live_subscriptions). */
  streaming?: Set<string>;
}

/** Turns an `Authorization` value into a principal, or throws (API keys and customer tokens alike). */
export interface Authenticator {
  authenticate(authorization: string | undefined): Promise<Principal>;
}

/** Reads the key from connection_init: `{ "authorization": "Bearer <key>" }` or `{ "apiKey": "<key>" }`. */
function authorizationOf(params: Record<string, unknown> | undefined): string | undefined {
  if (typeof params?.authorization === 'string') return params.authorization;
  if (typeof params?.Authorization === 'string') return params.Authorization;
  if (typeof params?.apiKey === 'string') return `Bearer ${params.apiKey}`;
  return undefined;
}

export interface WebSocketOptions {
  initTimeoutMs: number;
  limits: Limits;
  /** The same guard as HTTP's: unsafe strings, cost per credential, rate limits. */
  guard: OperationGuard;
  /** Off in production: introspection is then refused here as over HTTP. */
  introspection: boolean;
  /** Metrics and spans per operation, as over HTTP, and the count of streaming subscriptions. */
  telemetry?: OperationTelemetry;
}

/**
 * GraphQL over WebSocket (graphql-transport-ws) on the same path as HTTP. The key is checked in
 * connection_init; a bad key closes the socket with 4403, and so does the key's (or token's)
 * expiry or revocation while the socket is open. A credential may hold a limited number of
 * sockets (more close with 4429), a socket a limited number of subscriptions. Every operation is
 * parsed, validated and guarded exactly as over HTTP (token, depth, alias and directive limits,
 * introspection when off, cost and rate limits), runs with the socket's principal, and its errors
 * are formatted as over HTTP.
 */
export function serveGraphQLOverWebSocket(
  ws: WebSocketServer,
  schema: GraphQLSchema,
  credentials: Authenticator,
  sockets: CredentialSockets,
  formatError: Formatter,
  live: LiveFeeds,
  options: WebSocketOptions,
) {
  const rules = [...specifiedRules, ...limitRules(options.limits), ...(options.introspection ? [] : [NoSchemaIntrospectionCustomRule])];
  const formatted = (errors: readonly GraphQLError[]) => errors.map((err) => formatError(err.toJSON(), err));
  const telemetry = options.telemetry;
  const observed = <T>(args: ExecutionArgs, run: () => Promise<T>): Promise<T> => (telemetry ? observedExecution(telemetry, args, run) : run());
  /** Parses, validates and guards a subscribe message: the operation's execution arguments, or why it is refused. */
  const prepare = async (ctx: Context<Record<string, unknown> | undefined, Extra & Partial<{ principal: Principal }>>, payload: SubscribePayload, requestId: string): Promise<ExecutionArgs | GraphQLError[]> => {
    const principal = (ctx.extra as SocketExtra).principal!;
    // The subscription being started is counted already.
    if (Object.keys(ctx.subscriptions).length > options.limits.subscriptionsPerSocket) {
      return formatted([new GraphQLError(`a socket may run at most ${options.limits.subscriptionsPerSocket} operations at once`, { extensions: { code: ErrorCode.LIMIT_EXCEEDED, retryable: false, max: options.limits.subscriptionsPerSocket } })]).map(asError);
    }
    let document: DocumentNode;
    try {
      document = parse(payload.query, { maxTokens: options.limits.maxTokens });
    } catch (err) {
      const error = err instanceof GraphQLError ? (tokenLimitError(err, options.limits) ?? err) : new GraphQLError(String(err));
      return formatted([error]).map(asError);
    }
    const errors = validate(schema, document, rules);
    if (errors.length > 0) return formatted(errors).map(asError);
    const operation = getOperationAST(document, payload.operationName);
    if (!operation) return formatted([new GraphQLError('unable to identify the operation')]).map(asError);
    try {
      await options.guard.check({ document, operation, operationName: payload.operationName ?? undefined, variables: payload.variables ?? undefined, principal });
    } catch (err) {
      return formatted([err instanceof GraphQLError ? err : new GraphQLError(String(err))]).map(asError);
    }
    return {
      schema,
      document,
      operationName: payload.operationName,
      variableValues: payload.variables,
      contextValue: { principal, requestId, live } satisfies RequestContext,
    };
  };
  return useServer<Record<string, unknown> | undefined, { principal: Principal }>(
    {
      schema,
      connectionInitWaitTimeout: options.initTimeoutMs,
      onConnect: async (ctx) => {
        const extra = ctx.extra as SocketExtra;
        try {
          extra.principal = await credentials.authenticate(authorizationOf(ctx.connectionParams));
        } catch {
          return false;
        }
        // Closed while the key was being checked: onClose has run already, so track nothing.
        if (extra.socket.readyState !== extra.socket.OPEN) return false;
        if (sockets.count(extra.principal.keyId) >= options.limits.socketsPerCredential) {
          extra.socket.close(TOO_MANY_SOCKETS, `this credential already has ${options.limits.socketsPerCredential} open sockets`);
          return false;
        }
        extra.untrack = sockets.add(extra.principal, (reason) => extra.socket.close(CREDENTIAL_CLOSED, reason));
        return true;
      },
      onClose: (ctx) => (ctx.extra as SocketExtra).untrack?.(),
      // The operation runs under its request id (and, traced, in its span), counted and timed;
      // variables that do not coerce are one VALIDATION_FAILED, as over HTTP.
      execute: (args) => observed(args, async () => withVariableError(args, await execute(args))),
      subscribe: (args) => observed(args, async () => withVariableError(args, await subscribe(args))),
      onOperation: (ctx, id, _payload, _args, result) => {
        if (!telemetry || typeof (result as AsyncIterable<unknown>)[Symbol.asyncIterator] !== 'function') return;
        ((ctx.extra as SocketExtra).streaming ??= new Set()).add(id);
        telemetry.metrics.liveSubscriptions.inc();
      },
      // Called however a stream ends: completed by either side, or its socket closed.
      onComplete: (ctx, id) => {
        if ((ctx.extra as SocketExtra).streaming?.delete(id)) telemetry?.metrics.liveSubscriptions.dec();
      },
      // Each subscribe message is a request of its own, with its own id.
      onSubscribe: async (ctx, _id, payload) => {
        const started = performance.now();
        const requestId = newId();
        const prepared = await inRequest(requestId, () => prepare(ctx, payload, requestId));
        if (telemetry && Array.isArray(prepared)) observeRefused(telemetry, payload.operationName, started, prepared);
        return prepared;
      },
      onNext: (_ctx, _id, _payload, _args, result) => {
        if (!result.errors) return;
        return {
          ...result,
          errors: result.errors.map((err) => formatError(err instanceof GraphQLError ? err.toJSON() : { message: String(err) }, err)),
        };
      },
    },
    ws,
  );
}

/** A formatted error as the GraphQLError graphql-ws sends. */
function asError(e: GraphQLFormattedError): GraphQLError {
  return new GraphQLError(e.message, { extensions: e.extensions });
}
