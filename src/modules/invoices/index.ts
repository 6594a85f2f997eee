export { InvoiceService, type CloseReport } from './invoice.service.js';
export { InvoiceRepository } from './invoice.repository.js';
export { InvoiceResolver } from './invoice.resolver.js';
export { renderInvoiceHtml } from './invoice-html.js';
export { InvoiceKind, InvoiceStatus, LineKind, type InvoiceRecord, type InvoiceLineRecord } from './invoice.record.js';
