import type { IncomingMessage, ServerResponse } from 'node:http';

export interface RouteRequest {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  params: Record<string, string>;
}

export interface Route {
  /** Methods this route answers; others get 405. */
  methods: string[];
  /** A path such as "/invoices/:id.html"; ":name" matches one segment part of [A-Za-z0-9_-]. */
  path: string;
  /** Metric label for the route. */
  name: string;
  /** false: no span for its requests (health checks, scrapes, static files). */
  trace?: boolean;
  handle(request: RouteRequest): Promise<void> | void;
}

interface CompiledRoute extends Route {
  pattern: RegExp;
  keys: string[];
}

function compile(route: Route): CompiledRoute {
  const keys: string[] = [];
  const source = route.path
    .split(/(:[a-zA-Z]+)/)
    .map((part) => {
      if (part.startsWith(':')) {
        keys.push(part.slice(1));
        return '([A-Za-z0-9_-]+)';
      }
      return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('');
  return { ...route, pattern: new RegExp(`^${source}$`), keys };
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(JSON.stringify(body));
}

/** Matches a request to a route; unknown paths get 404, known paths with another method 405. */
export class Router {
  private readonly routes: CompiledRoute[];

  constructor(routes: Route[]) {
    this.routes = routes.map(compile);
  }

  match(method: string, pathname: string): { route: CompiledRoute; params: Record<string, string> } | { status: 404 | 405; allow?: string } {
    let allowed: string[] | undefined;
    for (const route of this.routes) {
      const m = route.pattern.exec(pathname);
      if (!m) continue;
      if (!route.methods.includes(method)) {
        allowed = route.methods;
        continue;
      }
      return { route, params: Object.fromEntries(route.keys.map((k, i) => [k, m[i + 1]!])) };
    }
    return allowed ? { status: 405, allow: allowed.join(', ') } : { status: 404 };
  }
}
