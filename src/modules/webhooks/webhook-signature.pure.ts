import { Webhook } from 'standardwebhooks';

/**
 * How receivers know a webhook came from us, unchanged and not replayed: the Standard Webhooks
 * signature (https://www.standardwebhooks.com), so any of its libraries verifies it. Each
 * request carries
 *
 *     webhook-id: <the event id: the same on every retry and replay>
 *     webhook-timestamp: <unix seconds when this request was signed>
 *     webhook-signature: v1,<base64 HMAC-SHA256(key, "<webhook-id>.<webhook-timestamp>.<raw body>")>
 *
 * where `key` is the base64 after `whsec_` in the endpoint's secret. During a secret's rotation
 * the header holds one signature per live secret, separated by spaces; a receiver accepts the
 * request when any of them matches its secret. Signing goes through the standardwebhooks
 * package itself, so what we send is what its verify checks.
 */

/** A secret as Standard Webhooks libraries take it: `whsec_` and base64 (standard alphabet) of the key. */
export const SECRET_FORMAT = /^whsec_[A-Za-z0-9+/]+={0,2}$/;

/** The headers of a Standard Webhooks request for one attempt. */
export interface SignatureHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

/**
 * Signs `body` for the event `eventId` at `signedAt` with every secret given (the current one
 * first), as one webhook-signature header.
 */
export function signatureHeaders(secrets: readonly string[], eventId: string, signedAt: Date, body: string): SignatureHeaders {
  const seconds = new Date(Math.floor(signedAt.getTime() / 1000) * 1000);
  return {
    'webhook-id': eventId,
    'webhook-timestamp': String(seconds.getTime() / 1000),
    'webhook-signature': secrets.map((s) => new Webhook(s).sign(eventId, seconds, body)).join(' '),
  };
}

/** A new endpoint secret from `key` (24 to 64 random bytes). */
export function secretFromKey(key: Buffer): string {
  if (key.length < 24 || key.length > 64) throw new RangeError('a webhook key has 24 to 64 bytes');
  return `whsec_${key.toString('base64')}`;
}
