import { AsyncLocalStorage } from 'node:async_hooks';
import { context, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { newId } from './ids.js';

/**
 * The request being served, carried through every await of its work (AsyncLocalStorage), so
 * that each log line written on its behalf names it: services deep in the pipeline log without
 * being handed a request-bound logger. Work shared by many requests (a group commit, a timer)
 * runs outside any of them (`outsideRequests`).
 */
const scope = new AsyncLocalStorage<{ requestId: string; caller?: string }>();

/** An incoming `x-request-id` kept as is when it is a short plain token; anything else is replaced. */
const SANE_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** The id of a request: the caller's `x-request-id` when it is sane, else a new one. */
export function requestIdFrom(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  return value !== undefined && SANE_ID.test(value) ? value : newId();
}

/**
 * Runs `fn` (and everything it awaits or schedules) as work of the request `requestId`. Inside
 * the work of a request already (a GraphQL operation of an HTTP request), the caller named for
 * it stays named.
 */
export function inRequest<T>(requestId: string, fn: () => T): T {
  return scope.run({ requestId, caller: scope.getStore()?.caller }, fn);
}

/**
 * Names the authenticated caller (its credential's id) of the request being served: reads that
 * must see the caller's own writes (a read replica, src/db/read-replica.ts) find it here.
 */
export function nameCaller(caller: string): void {
  const store = scope.getStore();
  if (store) store.caller = caller;
}

/** The caller named for the request being served, if any. */
export function currentCaller(): string | undefined {
  return scope.getStore()?.caller;
}

/** The id of the request whose work is running, if any. */
export function currentRequestId(): string | undefined {
  return scope.getStore()?.requestId;
}

/**
 * Runs `fn` outside every request and trace: what it schedules (a group commit serving many
 * requests) must not log under, or hang its spans from, the request that happened to start it.
 */
export function outsideRequests<T>(fn: () => T): T {
  return scope.exit(() => context.with(ROOT_CONTEXT, fn));
}

/**
 * The fields every log line gets (pino's `mixin`): the request id, and the trace and span ids
 * when a sampled span is active, so that a log line leads to its trace. A new object each time:
 * pino merges the line's own fields into it.
 */
export function logContext(): Record<string, string> {
  const requestId = scope.getStore()?.requestId;
  const span = trace.getSpanContext(context.active());
  if (span && span.traceFlags & 1) return requestId ? { requestId, traceId: span.traceId, spanId: span.spanId } : { traceId: span.traceId, spanId: span.spanId };
  return requestId ? { requestId } : {};
}
