import { createHmac, timingSafeEqual } from 'node:crypto';

/** The formats an invoice document is served in. */
export type InvoiceFormat = 'html' | 'pdf';

/** How long a signed invoice link lives, in seconds: by default a week, at most 30 days. */
export const LINK_LIFETIME = { min: 60, default: 7 * 86_400, max: 30 * 86_400 } as const;

/**
 * A signed link opens one invoice in one format until it expires, without an Authorization
 * header (a browser following it sends none). The signature is HMAC-SHA256 with the server's
 * LINK_SIGNING_SECRET over the invoice id, the format and the expiry, so none of them can be
 * changed: another invoice, the other format or a later expiry needs a new link.
 *
 *     /invoices/<id>.<format>?expires=<unix seconds>&signature=<base64url HMAC>
 */
export function linkSignature(secret: string, invoiceId: string, format: InvoiceFormat, expires: number): string {
  return createHmac('sha256', secret).update(`invoice-link:v1\n${invoiceId.toLowerCase()}\n${format}\n${expires}`).digest('base64url');
}

/** The query string of a signed link: `expires` and `signature`. */
export function signedQuery(secret: string, invoiceId: string, format: InvoiceFormat, expires: number): string {
  return `expires=${expires}&signature=${linkSignature(secret, invoiceId, format, expires)}`;
}

/**
 * Whether a link's `expires` and `signature` open this invoice in this format at `now`. The
 * signature is compared in constant time, and before the expiry, so that a forged link learns
 * nothing from how it is refused.
 */
export function linkValid(secret: string, invoiceId: string, format: InvoiceFormat, expires: string | null, signature: string | null, now: Date): boolean {
  if (!expires || !signature || !/^[1-9]\d{0,11}$/.test(expires) || !/^[A-Za-z0-9_-]{43}$/.test(signature)) return false;
  const expected = Buffer.from(linkSignature(secret, invoiceId, format, Number(expires)));
  const given = Buffer.from(signature);
  const authentic = given.length === expected.length && timingSafeEqual(given, expected);
  return authentic && Number(expires) * 1000 > now.getTime();
}
