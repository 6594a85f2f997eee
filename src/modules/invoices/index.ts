export { InvoiceDocumentResolver } from './invoice-document.resolver.js';
export { InvoiceDocumentService } from './invoice-document.service.js';
export { invoiceEventInvoice } from './invoice-events.pure.js';
export { InvoiceRepository } from './invoice.repository.js';
export { InvoiceResolver } from './invoice.resolver.js';
export { InvoiceService } from './invoice.service.js';
export { invoiceRoutes } from './invoice.routes.js';
export { InvoiceObject, toInvoiceObject } from './invoice.object.js';
export type { InvoiceRecord } from './invoice.record.js';
