import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * How receivers know a webhook came from us and was not replayed.
 *
 * Every request carries the header
 *
 *     Billing-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>
 *
 * where `secret` is the endpoint's whole secret (`whsec_…`, as UTF-8 bytes) and `<raw body>` is
 * the request body exactly as received, before any JSON parsing. To verify: split the header on
 * ",", recompute the HMAC over "<t>.<raw body>", compare it with v1 in constant time, and refuse
 * a t too far from your clock (a few minutes). Each attempt is signed anew, so a retry carries a
 * fresh t. Deliveries are at least once: deduplicate on `Billing-Event-Id` (the body's `id`).
 */
export const SIGNATURE_HEADER = 'Billing-Signature';

const hmac = (secret: string, timestampSeconds: number, body: string | Buffer): string =>
  createHmac('sha256', secret).update(`${timestampSeconds}.`).update(body).digest('hex');

/** The Billing-Signature header value for a body sent at timestampSeconds. */
export function signPayload(secret: string, timestampSeconds: number, body: string | Buffer): string {
  return `t=${timestampSeconds},v1=${hmac(secret, timestampSeconds, body)}`;
}

/**
 * True when `header` is a Billing-Signature of `body` with `secret`, made no more than
 * toleranceSeconds away from nowSeconds. Any one of several v1 values may match.
 */
export function verifySignature(
  secret: string,
  header: string | null | undefined,
  body: string | Buffer,
  toleranceSeconds = 300,
  nowSeconds: number = Math.floor(Date.now() / 1000),
): boolean {
  if (!header) return false;
  let timestamp: number | undefined;
  const signatures: string[] = [];
  for (const part of header.split(',')) {
    const [key, value] = part.trim().split('=', 2);
    if (key === 't' && value && /^\d{1,12}$/.test(value)) timestamp = Number(value);
    else if (key === 'v1' && value) signatures.push(value);
  }
  if (timestamp === undefined || signatures.length === 0) return false;
  if (Math.abs(nowSeconds - timestamp) > toleranceSeconds) return false;
  const expected = Buffer.from(hmac(secret, timestamp, body), 'hex');
  return signatures.some((s) => {
    const given = Buffer.from(s, 'hex');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}
