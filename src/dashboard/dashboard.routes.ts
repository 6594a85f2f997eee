import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Route } from '../http/router.js';

/**
 * The page may load only its own files and talk only to its own origin (HTTP and WebSocket);
 * no inline script or style, no plugins, no framing, no form posts. The token arrives in the
 * URL fragment, which browsers never send to the server.
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS = {
  'content-security-policy': DASHBOARD_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
};

interface Asset {
  path: string;
  file: string;
  type: string;
}

/** Plain files, no build step: the service serves them as they are in `assets/`. */
const ASSETS: Asset[] = [
  { path: '/dashboard', file: 'index.html', type: 'text/html; charset=utf-8' },
  { path: '/dashboard/dashboard.css', file: 'dashboard.css', type: 'text/css; charset=utf-8' },
  { path: '/dashboard/dashboard.js', file: 'dashboard.js', type: 'text/javascript; charset=utf-8' },
  { path: '/dashboard/api.js', file: 'api.js', type: 'text/javascript; charset=utf-8' },
  { path: '/dashboard/format.js', file: 'format.js', type: 'text/javascript; charset=utf-8' },
  { path: '/dashboard/chart.js', file: 'chart.js', type: 'text/javascript; charset=utf-8' },
  { path: '/dashboard/sections.js', file: 'sections.js', type: 'text/javascript; charset=utf-8' },
  { path: '/dashboard/usage.js', file: 'usage.js', type: 'text/javascript; charset=utf-8' },
];

/**
 * GET routes for the customer dashboard: the page and its files, read once at start-up, sent
 * with a strict Content-Security-Policy and an ETag so a browser revalidates cheaply.
 */
export function dashboardRoutes(): Route[] {
  return ASSETS.map((asset) => {
    const body = readFileSync(new URL(`./assets/${asset.file}`, import.meta.url));
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
    return {
      name: 'dashboard',
      path: asset.path,
      methods: ['GET'],
      handle: ({ req, res }) => {
        const headers = { ...SECURITY_HEADERS, etag, 'cache-control': 'no-cache' };
        if (req.headers['if-none-match'] === etag) {
          res.writeHead(304, headers);
          res.end();
          return;
        }
        res.writeHead(200, { ...headers, 'content-type': asset.type, 'content-length': String(body.length) });
        res.end(body);
      },
    };
  });
}
