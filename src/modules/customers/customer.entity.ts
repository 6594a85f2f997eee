import { BigIntType, EntitySchema } from '@mikro-orm/core';

export class Customer {
  id!: string;
  /** The integrator's own id for this customer; unique. */
  externalId!: string;
  name!: string;
  email!: string | null;
  /** Currency (or credit unit) the customer is billed in. */
  currency!: string;
  /** IANA time zone; billing periods and daily usage buckets follow it. */
  timezone!: string;
  metadata!: Record<string, string>;
  /** Postpaid limit on spend per billing period, in ledger units of the customer's currency; null for none. */
  spendingCap!: bigint | null;
  /** The tax rate invoices apply (wins over the plan's). */
  taxRateCode!: string | null;
  createdAt!: Date;
  updatedAt!: Date;
}

export const CustomerSchema = new EntitySchema<Customer>({
  class: Customer,
  tableName: 'customer',
  properties: {
    id: { type: 'uuid', primary: true },
    externalId: { type: 'string', length: 255, unique: 'customer_external_id_key' },
    name: { type: 'string', length: 200 },
    email: { type: 'string', length: 320, nullable: true },
    currency: { type: 'string', length: 32 },
    timezone: { type: 'string', length: 64 },
    metadata: { type: 'json', columnType: 'jsonb' },
    spendingCap: { type: new BigIntType('bigint'), nullable: true },
    taxRateCode: { type: 'string', length: 64, nullable: true },
    createdAt: { type: 'Date', columnType: 'timestamptz' },
    updatedAt: { type: 'Date', columnType: 'timestamptz' },
  },
});
