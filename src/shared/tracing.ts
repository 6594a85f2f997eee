import type { IncomingHttpHeaders } from 'node:http';
import { performance } from 'node:perf_hooks';
import {
  context,
  defaultTextMapGetter,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Link,
  type Span,
  type SpanContext,
  type Tracer,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AlwaysOffSampler, AlwaysOnSampler, BasicTracerProvider, BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler, type Sampler } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import type { TracingConfig } from '../config/config.js';

export type { Span, SpanContext };
/** Where a piece of work sits in a trace, kept to hang later work for the same caller under it. */
export type TraceContext = Context;

const propagator = new W3CTraceContextPropagator();
let contextManager: AsyncLocalStorageContextManager | undefined;

function samplerOf(config: TracingConfig): Sampler {
  const ratio = new TraceIdRatioBasedSampler(config.samplerRatio);
  switch (config.sampler) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return ratio;
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: ratio });
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
  }
}

/**
 * OpenTelemetry tracing for one app. Off (`Tracing.off`), no SDK is started and every method
 * returns at its first branch: the hot path pays a null check per stage. On, spans go in batches
 * to an OTLP/HTTP endpoint; the provider is the app's own (not registered globally), so that
 * several apps in one process (tests) trace independently, and only the context manager, which
 * carries the active span through awaits, is process-wide.
 */
export class Tracing {
  static readonly off = new Tracing(null, null);

  private constructor(
    private readonly tracer: Tracer | null,
    private readonly provider: BasicTracerProvider | null,
    /** The sampler follows the parent's decision: a child of an unsampled span needs no span at all. */
    private readonly parentBased = false,
  ) {}

  /** Starts the SDK when configured (config.tracing), or returns Tracing.off. */
  static start(config: TracingConfig | null): Tracing {
    if (!config) return Tracing.off;
    if (!contextManager) {
      contextManager = new AsyncLocalStorageContextManager().enable();
      context.setGlobalContextManager(contextManager);
    }
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: config.serviceName }),
      sampler: samplerOf(config),
      spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: config.tracesUrl }))],
    });
    return new Tracing(provider.getTracer('billing'), provider, config.sampler.startsWith('parentbased_'));
  }

  get enabled(): boolean {
    return this.tracer !== null;
  }

  /** The trace context of an incoming request's `traceparent` (W3C Trace Context), or none. */
  extract(headers: IncomingHttpHeaders): Context {
    return this.tracer ? propagator.extract(ROOT_CONTEXT, headers, defaultTextMapGetter) : ROOT_CONTEXT;
  }

  /**
   * Runs `fn` in a new span, child of `parent` (the active context by default), that ends when
   * `fn` settles; a throw marks it failed. Off, runs `fn` with no span.
   */
  inSpan<T>(name: string, options: { kind?: SpanKind; attributes?: Attributes; parent?: Context }, fn: (span: Span | undefined) => Promise<T>): Promise<T> {
    if (!this.tracer) return fn(undefined);
    const parent = options.parent ?? context.active();
    if (this.unsampled(parent)) return fn(undefined);
    const span = this.tracer.startSpan(name, { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes }, parent);
    return context.with(trace.setSpan(parent, span), async () => {
      try {
        return await fn(span);
      } catch (err) {
        failed(span, err);
        throw err;
      } finally {
        span.end();
      }
    });
  }

  /**
   * A span for work that ran from `started` (performance.now()) until now, recorded once it is
   * over: a child of `parent` (the active context by default). Returns its context (for links).
   */
  record(name: string, started: number, attributes?: Attributes, options: { parent?: Context; links?: Link[]; error?: unknown; ended?: number } = {}): SpanContext | undefined {
    if (!this.tracer) return undefined;
    const parent = options.parent ?? context.active();
    if (this.unsampled(parent)) return undefined;
    const span = this.tracer.startSpan(name, { startTime: started, attributes, links: options.links }, parent);
    if (options.error !== undefined) failed(span, options.error);
    span.end(options.ended ?? performance.now());
    return span.spanContext();
  }

  private unsampled(parent: Context): boolean {
    if (!this.parentBased) return false;
    const span = trace.getSpanContext(parent);
    return span !== undefined && (span.traceFlags & 1) === 0;
  }

  /** The active context, to hand to work done later on this caller's behalf (undefined when off). */
  capture(): Context | undefined {
    return this.tracer ? context.active() : undefined;
  }

  /** The span context in a captured context, when it is sampled (worth a link or a child). */
  sampled(ctx: Context | undefined): SpanContext | undefined {
    const span = ctx && trace.getSpanContext(ctx);
    return span && span.traceFlags & 1 ? span : undefined;
  }

  /** The span active here (undefined when off or outside a span). */
  active(): Span | undefined {
    return this.tracer ? trace.getActiveSpan() : undefined;
  }

  /** Sends the spans buffered so far. */
  async flush(): Promise<void> {
    await this.provider?.forceFlush();
  }

  /** Sends the spans still buffered and stops the exporter (shutdown). */
  async shutdown(): Promise<void> {
    await this.provider?.shutdown();
  }
}

/** Marks a span failed, with the error's code (an AppError's) or message. */
export function failed(span: Span, err: unknown): void {
  const code = (err as { code?: unknown } | null)?.code;
  span.setStatus({ code: SpanStatusCode.ERROR, message: typeof code === 'string' ? code : err instanceof Error ? err.message : String(err) });
  if (err instanceof Error) span.recordException(err);
}

export { SpanKind, SpanStatusCode };
