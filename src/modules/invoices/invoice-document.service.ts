import { randomBytes } from 'node:crypto';
import type { InvoiceConfig } from '../../config/config.js';
import type { Clock } from '../../shared/clock.js';
import type { Logger } from '../../shared/logger.js';
import { Checker } from '../../shared/validation.js';
import type { CustomerService } from '../customers/index.js';
import { buyerSnapshot, invoiceDocument, type InvoiceDocument } from './invoice-document.pure.js';
import { renderInvoiceHtml } from './invoice-html.pure.js';
import { LINK_LIFETIME, linkValid, signedQuery, type InvoiceFormat } from './invoice-link.pure.js';
import { renderInvoicePdf } from './invoice-pdf.service.js';
import type { InvoiceRecord } from './invoice.record.js';
import type { InvoiceService } from './invoice.service.js';

export interface InvoiceLinks {
  html: string;
  pdf: string;
  expiresAt: Date;
}

/**
 * Invoice documents: the printable page, the PDF, and signed links that open them in a browser.
 * A finalized invoice prints the seller and buyer frozen onto it; a draft prints the current
 * configuration and billing details, as it would be finalized now.
 */
export class InvoiceDocumentService {
  private readonly secret: string;

  constructor(
    private readonly invoices: InvoiceService,
    private readonly customers: CustomerService,
    private readonly config: InvoiceConfig,
    /** The service's public origin (PUBLIC_URL); links are paths from the root without it. */
    private readonly publicUrl: string | undefined,
    private readonly clock: Clock,
    logger: Logger,
  ) {
    if (config.linkSigningSecret) this.secret = config.linkSigningSecret;
    else {
      // Outside production only (the configuration requires the secret there).
      this.secret = randomBytes(32).toString('base64url');
      logger.warn('LINK_SIGNING_SECRET is not set: invoice links are signed with a key of this process only, and stop working when it restarts or on other instances');
    }
  }

  get(id: string): Promise<InvoiceRecord> {
    return this.invoices.get(id);
  }

  async document(invoice: InvoiceRecord): Promise<InvoiceDocument> {
    if (invoice.buyer) return invoiceDocument(invoice, { seller: invoice.seller, buyer: invoice.buyer });
    const customer = await this.customers.get({ id: invoice.customerId });
    // A draft shows the seller it would be finalized with; an invoice finalized before sellers
    // were recorded names none rather than today's.
    const seller = invoice.status === 'DRAFT' ? this.config.seller : null;
    return invoiceDocument(invoice, { seller, buyer: buyerSnapshot(customer) });
  }

  async html(invoice: InvoiceRecord): Promise<string> {
    return renderInvoiceHtml(await this.document(invoice));
  }

  async pdf(invoice: InvoiceRecord): Promise<Buffer> {
    return renderInvoicePdf(await this.document(invoice), invoice.finalizedAt ?? invoice.computedAt);
  }

  /** Links to the invoice's page and PDF that open without credentials until they expire. */
  links(invoice: InvoiceRecord, expiresInSeconds: number | null | undefined): InvoiceLinks {
    const check = new Checker();
    const lifetime = check.integer('expiresInSeconds', expiresInSeconds ?? LINK_LIFETIME.default, LINK_LIFETIME);
    check.done();
    const expires = Math.floor(this.clock.now().getTime() / 1000) + lifetime!;
    const base = `${(this.publicUrl ?? '').replace(/\/+$/, '')}/invoices/${invoice.id}`;
    const url = (format: InvoiceFormat) => `${base}.${format}?${signedQuery(this.secret, invoice.id, format, expires)}`;
    return { html: url('html'), pdf: url('pdf'), expiresAt: new Date(expires * 1000) };
  }

  /** Whether a link's query opens this invoice in this format now. */
  verify(invoiceId: string, format: InvoiceFormat, query: URLSearchParams): boolean {
    return linkValid(this.secret, invoiceId, format, query.get('expires'), query.get('signature'), this.clock.now());
  }
}
