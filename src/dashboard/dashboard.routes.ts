import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { extname } from 'node:path';
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

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
};

const ASSETS_DIR = new URL('./assets/', import.meta.url);

/** Every file in `assets/` under /dashboard/<name>, and index.html as /dashboard itself. */
function assets(): Array<{ path: string; file: string; type: string }> {
  return readdirSync(ASSETS_DIR)
    .filter((file) => TYPES[extname(file)])
    .map((file) => ({ path: file === 'index.html' ? '/dashboard' : `/dashboard/${file}`, file, type: TYPES[extname(file)]! }));
}

/**
 * GET routes for the customer dashboard: the page and its files, read once at start-up, sent
 * with a strict Content-Security-Policy and an ETag so a browser revalidates cheaply.
 */
export function dashboardRoutes(): Route[] {
  return assets().map((asset) => {
    const body = readFileSync(new URL(asset.file, ASSETS_DIR));
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
    return {
      name: 'dashboard',
      path: asset.path,
      methods: ['GET'],
      trace: false,
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
