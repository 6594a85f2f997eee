export { Invoice, InvoiceSchema } from './invoice.entity.js';
