import { HeaderMap, type ApolloServerPlugin } from '@apollo/server';
import { GraphQLError, Kind, type DocumentNode, type FieldNode, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';
import type { Limits } from '../config/config.js';
import type { Principal } from '../modules/api-keys/index.js';
import { AppError } from '../shared/errors.js';
import type { RequestContext } from './context.js';
import { appErrorExtensions } from './errors.js';
import { checkCost, operationCost } from './operation-limits.js';
import type { Budget, RateLimits } from './rate-limits.js';
import type { ReadGate } from './read-gate.js';
import { findUnsafeStrings } from './unsafe-strings.js';
import { ValidationError } from '../shared/errors.js';

/** Root fields that ingest usage: they draw on the ingestion budget, by events. */
const INGEST_FIELDS = new Set(['recordUsage', 'recordUsageBatch', 'authorizeUsage', 'settleReservation', 'releaseReservation']);

export interface GuardedOperation {
  document: DocumentNode;
  operation: OperationDefinitionNode;
  operationName: string | undefined;
  variables: Record<string, unknown> | undefined;
  principal: Principal;
}

/** The events a recordUsageBatch field carries, from its literal input or its variable. */
function eventsOf(field: FieldNode, variables: Record<string, unknown> | undefined): number {
  const input = field.arguments?.find((a) => a.name.value === 'input')?.value;
  if (input?.kind === Kind.VARIABLE) {
    const events = (variables?.[input.name.value] as { events?: unknown } | undefined)?.events;
    return Array.isArray(events) ? events.length : 1;
  }
  if (input?.kind === Kind.OBJECT) {
    const events = input.fields.find((f) => f.name.value === 'events')?.value;
    if (events?.kind === Kind.LIST) return events.values.length;
    if (events?.kind === Kind.VARIABLE) {
      const list = variables?.[events.name.value];
      return Array.isArray(list) ? list.length : 1;
    }
  }
  return 1;
}

/** What an operation draws from which budget. */
function draws(op: GuardedOperation, cost: number): Array<[Budget, number]> {
  if (op.operation.operation !== 'mutation') return [['read', cost]];
  let ingest = 0;
  let write = 0;
  for (const s of op.operation.selectionSet.selections) {
    if (s.kind !== Kind.FIELD) {
      write++;
      continue;
    }
    // `__typename` changes nothing.
    if (s.name.value.startsWith('__')) continue;
    if (!INGEST_FIELDS.has(s.name.value)) write++;
    else ingest += s.name.value === 'recordUsageBatch' ? eventsOf(s, op.variables) : 1;
  }
  return [
    ...(ingest > 0 ? ([['ingest', ingest]] as Array<[Budget, number]>) : []),
    ...(write > 0 ? ([['write', write]] as Array<[Budget, number]>) : []),
  ];
}

/**
 * Everything checked about an operation before it runs, after parsing and validation: no NUL
 * bytes or lone surrogates in its strings, its cost within its credential's budget, and its
 * credential's rate limits. Throws a GraphQLError with the code, and for HTTP the status and a
 * Retry-After header.
 */
export class OperationGuard {
  constructor(
    private readonly schema: GraphQLSchema,
    private readonly limits: Limits,
    private readonly rates: RateLimits,
  ) {}

  async check(op: GuardedOperation): Promise<void> {
    try {
      const problems = findUnsafeStrings(op.document, op.variables ?? {});
      if (problems.length > 0) throw new ValidationError(problems);
      const cost = operationCost(this.schema, op.document, op.operationName, op.variables);
      if (cost === null) return;
      checkCost(cost, op.principal, this.limits);
      for (const [budget, points] of draws(op, cost)) await this.rates.consume(op.principal, budget, points);
    } catch (err) {
      throw err instanceof AppError ? guardError(err) : err;
    }
  }
}

/** An AppError as the GraphQLError Apollo answers with: its code, and its HTTP status and Retry-After. */
function guardError(err: AppError): GraphQLError {
  const retryAfter = err.details.retryAfterSeconds;
  const status = err.httpStatus ?? 400;
  const headers = typeof retryAfter === 'number' ? new HeaderMap([['retry-after', String(retryAfter)]]) : undefined;
  return new GraphQLError(err.message, { extensions: { ...appErrorExtensions(err), http: { status, ...(headers ? { headers } : {}) } } });
}

/**
 * Runs the guard for every operation over HTTP, once it is parsed and validated; a query then
 * waits for a slot of the read gate, which it holds until its response is sent.
 */
export function operationGuardPlugin(guard: OperationGuard, reads: ReadGate): ApolloServerPlugin<RequestContext> {
  return {
    async requestDidStart() {
      let release: (() => void) | undefined;
      return {
        async didResolveOperation({ request, document, operation, operationName, contextValue }) {
          if (!operation) return;
          await guard.check({ document, operation, operationName: operationName ?? undefined, variables: request.variables, principal: contextValue.principal });
          if (operation.operation === 'query') release = await reads.enter();
        },
        async willSendResponse() {
          release?.();
        },
      };
    },
  };
}
