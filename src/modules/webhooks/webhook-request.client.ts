import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { ADDRESS_REFUSED, guardedLookup, hostOf, isAllowedAddress, systemResolver, type Resolver } from './webhook-address.client.js';

/**
 * What one POST came to: the HTTP status, or none. `failure` says why there was none, for the
 * server log only: the delivery log never shows it, since "refused", "timed out" and "no such
 * host" would map the network behind the service for whoever registers endpoints.
 */
export type PostResult = { statusCode: number; failure: null } | { statusCode: null; failure: string };

export interface PostOptions {
  /** The whole attempt: address check, connection, TLS, request and status line. */
  timeoutMs: number;
  allowPrivateNetworks: boolean;
  resolve?: Resolver;
}

const failed = (failure: string): PostResult => ({ statusCode: null, failure });

/**
 * POSTs a body and waits for the status line, connecting only to allowed addresses (see
 * webhook-address.client.ts). The answer's body is not read: nothing of it is kept. Redirects are not
 * followed (a 3xx is a failed attempt), so a receiver cannot bounce the request inward. A fresh
 * connection each time (agent: false): a pooled one would skip the address check. Never throws.
 */
export function postWebhook(url: string, headers: Record<string, string>, body: string, opts: PostOptions): Promise<PostResult> {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return Promise.resolve(failed('invalid URL'));
  }
  const send = target.protocol === 'https:' ? httpsRequest : target.protocol === 'http:' ? httpRequest : undefined;
  if (!send) return Promise.resolve(failed('unsupported scheme'));
  // Node calls `lookup` for host names only: an IP literal is checked here.
  const host = hostOf(target);
  if (isIP(host) && !isAllowedAddress(host, opts.allowPrivateNetworks)) return Promise.resolve(failed(ADDRESS_REFUSED));

  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: PostResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const req = send(target, {
      method: 'POST',
      headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
      agent: false,
      lookup: guardedLookup(opts.allowPrivateNetworks, opts.resolve ?? systemResolver),
    });
    const timer = setTimeout(() => {
      finish(failed('timeout'));
      req.destroy();
    }, opts.timeoutMs);
    req.on('response', (res) => {
      finish({ statusCode: res.statusCode ?? 0, failure: null });
      res.destroy();
    });
    req.on('error', (err: NodeJS.ErrnoException) => finish(failed(err.code ?? err.name)));
    req.end(body);
  });
}
