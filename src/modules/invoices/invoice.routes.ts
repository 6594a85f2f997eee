import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson, type Route } from '../../http/router.js';
import { AppError, ErrorCode, notFound } from '../../shared/errors.js';
import { nameCaller } from '../../shared/request-scope.js';
import { Role, visibleTo } from '../api-keys/index.js';
import type { Credentials } from '../customer-tokens/index.js';
import type { InvoiceDocumentService } from './invoice-document.service.js';
import type { InvoiceFormat } from './invoice-link.pure.js';
import type { InvoiceRecord } from './invoice.record.js';

/** Neither the documents nor their links may leak: not to caches, referrers or search engines. */
const PRIVATE = { 'cache-control': 'private, no-store', 'referrer-policy': 'no-referrer', 'x-robots-tag': 'noindex', 'x-content-type-options': 'nosniff' };
const PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** The one answer to a link that is expired, altered or for another invoice: it says which of them no more. */
const REFUSED = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Link not valid</title></head>
<body style="font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem">
<h1>This link is not valid</h1>
<p>It may have expired. Ask whoever sent it for a new link to the invoice.</p>
</body></html>`;

/**
 * `GET /invoices/<id>.html` (the printable page) and `GET /invoices/<id>.pdf` (the PDF). Opened
 * with `Authorization: Bearer` (ADMIN, or the invoice's own customer: another customer's invoice
 * is 404 like an unknown one), or with a signed link's `expires` and `signature` (from the
 * `invoiceLink` query), which then alone decide: 403 with a short page when the link is expired,
 * altered or for another invoice or format.
 */
export function invoiceRoutes(deps: {
  documents: InvoiceDocumentService;
  credentials: Credentials;
}): Route[] {
  const route = (format: InvoiceFormat): Route => ({
    name: `invoice-${format}`,
    path: `/invoices/:id.${format}`,
    methods: ['GET'],
    handle: async ({ req, res, url, params }) => {
      try {
        const invoice = url.searchParams.has('signature') ? await signed(deps.documents, params.id!, format, url) : await authorised(deps, req, params.id!);
        if (!invoice) return refuse(res);
        if (format === 'html') {
          res.writeHead(200, { ...PRIVATE, 'content-type': 'text/html; charset=utf-8', 'content-security-policy': PAGE_CSP });
          res.end(await deps.documents.html(invoice));
          return;
        }
        const body = await deps.documents.pdf(invoice);
        // Numbers per customer carry its external id: only safe characters go in the header.
        const name = `${(invoice.number ?? `draft-${invoice.id}`).replace(/[^A-Za-z0-9._-]/g, '_')}.pdf`;
        res.writeHead(200, { ...PRIVATE, 'content-type': 'application/pdf', 'content-length': String(body.length), 'content-disposition': `inline; filename="${name}"` });
        res.end(body);
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        sendJson(res, err.httpStatus ?? (err.code === ErrorCode.NOT_FOUND ? 404 : 400), { errors: [{ message: err.message, extensions: { code: err.code } }] }, PRIVATE);
      }
    },
  });
  return [route('html'), route('pdf')];
}

/** The invoice a valid signed link opens, or null. */
async function signed(documents: InvoiceDocumentService, id: string, format: InvoiceFormat, url: URL): Promise<InvoiceRecord | null> {
  if (!documents.verify(id, format, url.searchParams)) return null;
  return documents.get(id);
}

async function authorised(deps: { documents: InvoiceDocumentService; credentials: Credentials }, req: IncomingMessage, id: string): Promise<InvoiceRecord> {
  const principal = await deps.credentials.authenticate(req.headers.authorization);
  if (principal.role !== Role.ADMIN && principal.role !== Role.CUSTOMER) throw new AppError(ErrorCode.FORBIDDEN, 'invoices are read with an ADMIN key, or a CUSTOMER key or customer token');
  nameCaller(principal.keyId);
  // Another customer's invoice answers as an unknown id does: 404.
  const invoice = visibleTo(principal, await deps.documents.get(id));
  if (!invoice) throw notFound('invoice', id);
  return invoice;
}

function refuse(res: ServerResponse): void {
  res.writeHead(403, { ...PRIVATE, 'content-type': 'text/html; charset=utf-8', 'content-security-policy': PAGE_CSP });
  res.end(REFUSED);
}
