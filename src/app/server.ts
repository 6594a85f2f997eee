import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import type { Logger } from '../shared/logger.js';
import type { Metrics } from '../shared/metrics.js';
import { Router, sendJson, type Route } from '../http/router.js';

export interface ServerOptions {
  routes: Route[];
  /** Path where GraphQL over WebSocket is accepted (the same as HTTP GraphQL). */
  wsPath: string;
  maxMessageBytes: number;
  logger: Logger;
  metrics: Metrics;
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

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    this.inFlight++;
    if (this.draining) res.setHeader('connection', 'close');
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = req.method ?? 'GET';
    const found = this.router.match(method, url.pathname);
    const routeName = 'route' in found ? found.route.name : 'unmatched';
    try {
      if ('route' in found) {
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
      if (--this.inFlight === 0 && this.drained) this.drained();
    }
  }
}
