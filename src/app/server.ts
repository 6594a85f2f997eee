import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import type { Logger } from '../shared/logger.js';
import type { Metrics } from '../shared/metrics.js';
import { inRequest, requestIdFrom } from '../shared/request-scope.js';
import { SpanKind, SpanStatusCode, Tracing } from '../shared/tracing.js';
import { Router, sendJson, type Route } from '../http/router.js';

export interface ServerOptions {
  routes: Route[];
  /** Path where GraphQL over WebSocket is accepted (the same as HTTP GraphQL). */
  wsPath: string;
  maxMessageBytes: number;
  logger: Logger;
  metrics: Metrics;
  /** Spans for requests of traced routes (off by default). */
  tracing?: Tracing;
}

/**
 * One HTTP server on one port: the routes, plus WebSocket upgrades on wsPath. Tracks in-flight
 * requests so that stop() can drain them before closing.
 */
export class AppServer {
  readonly http: http.Server;
  readonly ws: WebSocketServer;
  private readonly router: Router;
  private inFlight = 0;
  private draining = false;
  private drained: (() => void) | undefined;

  constructor(private readonly options: ServerOptions) {
    this.router = new Router(options.routes);
    this.http = http.createServer((req, res) => void this.handle(req, res));
    this.http.keepAliveTimeout = 65_000;
    // A socket message is held to the same size limit as an HTTP body.
    this.ws = new WebSocketServer({ server: this.http, path: options.wsPath, maxPayload: options.maxMessageBytes });
  }

  get isDraining(): boolean {
    return this.draining;
  }

  async listen(port: number, host: string): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(port, host, () => {
        this.http.off('error', reject);
        resolve();
      });
    });
    return this.http.address() as AddressInfo;
  }

  /**
   * Stops taking requests, lets in-flight ones finish (up to timeoutMs), then closes every
   * socket, WebSockets with 1001 "going away".
   */
  async stop(timeoutMs: number): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    const closed = new Promise<void>((resolve) => this.http.close(() => resolve()));
    this.http.closeIdleConnections();
    if (this.inFlight > 0) {
      await Promise.race([
        new Promise<void>((resolve) => (this.drained = resolve)),
        new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref()),
      ]);
    }
    for (const client of this.ws.clients) client.close(1001, 'server shutting down');
    await new Promise<void>((resolve) => this.ws.close(() => resolve()));
    this.http.closeAllConnections();
    await closed;
  }

  /**
   * Every response carries the request's id (the caller's sane `x-request-id`, or a new one), and
   * every log line written while serving it names it. A traced route's request gets a server
   * span, child of the caller's `traceparent` when it sends one.
   */
  private handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = requestIdFrom(req.headers['x-request-id']);
    res.setHeader('x-request-id', requestId);
    return inRequest(requestId, () => this.serve(req, res, requestId));
  }

  private async serve(req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
    const started = process.hrtime.bigint();
    this.inFlight++;
    if (this.draining) res.setHeader('connection', 'close');
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = req.method ?? 'GET';
    const found = this.router.match(method, url.pathname);
    const routeName = 'route' in found ? found.route.name : 'unmatched';
    const tracing = this.options.tracing ?? Tracing.off;
    try {
      if ('route' in found && found.route.trace !== false && tracing.enabled) {
        const { route, params } = found;
        const attributes = { 'http.request.method': method, 'http.route': route.path, 'url.path': url.pathname, 'billing.request_id': requestId };
        await tracing.inSpan(`${method} ${route.path}`, { kind: SpanKind.SERVER, attributes, parent: tracing.extract(req.headers) }, async (span) => {
          try {
            await route.handle({ req, res, url, params });
          } finally {
            span?.setAttribute('http.response.status_code', res.statusCode);
            if (res.statusCode >= 500) span?.setStatus({ code: SpanStatusCode.ERROR });
          }
        });
      } else if ('route' in found) {
        await found.route.handle({ req, res, url, params: found.params });
      } else if (found.status === 405) {
        sendJson(res, 405, { error: 'method not allowed' }, { allow: found.allow ?? '' });
      } else {
        sendJson(res, 404, { error: 'not found' });
      }
    } catch (err) {
      this.options.logger.error({ err, path: url.pathname }, 'request failed');
      if (!res.headersSent) sendJson(res, 500, { error: 'internal server error' });
      else res.destroy();
    } finally {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      this.options.metrics.httpRequests.observe({ route: routeName, method, status: String(res.statusCode) }, seconds);
      // The access log, at debug: one line per request, with its id (the logger's mixin adds it).
      if (this.options.logger.isLevelEnabled('debug')) this.options.logger.debug({ route: routeName, method, status: res.statusCode, ms: Math.round(seconds * 1e4) / 10 }, 'request served');
      if (--this.inFlight === 0 && this.drained) this.drained();
    }
  }
}
