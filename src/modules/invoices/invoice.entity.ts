import { EntitySchema } from '@mikro-orm/core';

/** Placeholder for the invoice model; period close fills it in. */
export class Invoice {
  id!: string;
  customerId!: string;
  status!: string;
  currency!: string;
  periodStart!: Date;
  periodEnd!: Date;
  createdAt!: Date;
}

export const InvoiceSchema = new EntitySchema<Invoice>({
  class: Invoice,
  tableName: 'invoice',
  properties: {
    id: { type: 'uuid', primary: true },
    customerId: { type: 'uuid' },
    status: { type: 'string', length: 16 },
    currency: { type: 'string', length: 32 },
    periodStart: { type: 'Date', columnType: 'timestamptz' },
    periodEnd: { type: 'Date', columnType: 'timestamptz' },
    createdAt: { type: 'Date', columnType: 'timestamptz' },
  },
});
