export { renderInvoiceHtml } from './invoice-html.pure.js';
export { InvoiceRepository } from './invoice.repository.js';
export { InvoiceResolver } from './invoice.resolver.js';
export { InvoiceService } from './invoice.service.js';
