import { BigIntType, EntitySchema } from '@mikro-orm/core';
import type { BillingDetails } from './billing-details.pure.js';

/** Who collects a customer's invoices: the integrator's own flow, or a provider that charges by itself. */
export const PaymentProviderName = { MANUAL: 'MANUAL', STRIPE: 'STRIPE' } as const;
export type PaymentProviderName = (typeof PaymentProviderName)[keyof typeof PaymentProviderName];

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
  /** Set while an uncollectible invoice suspends it (its plan's dunning policy SUSPEND): usage is refused. */
  suspendedAt?: Date | null;
  suspensionReason?: string | null;
  /** Legal name, address and tax id printed on its invoices; null: its name only. */
  billingDetails!: BillingDetails | null;
  /** Days after finalization its invoices fall due; null: the deployment's INVOICE_PAYMENT_TERMS_DAYS. */
  paymentTermsDays!: number | null;
  /** Who collects its invoices: MANUAL (the integrator's payment flow) or a provider that charges by itself (STRIPE). */
  paymentProvider!: string;
  /** References at Stripe (cus_…, pm_…): the card itself stays there. */
  stripeCustomerId!: string | null;
  stripePaymentMethodId!: string | null;
  /** The test clock it lives on, set at creation and never changed; null for a live customer. */
  testClockId!: string | null;
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
    suspendedAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
    suspensionReason: { type: 'string', length: 500, nullable: true },
    billingDetails: { type: 'json', columnType: 'jsonb', nullable: true },
    paymentTermsDays: { type: 'integer', nullable: true },
    paymentProvider: { type: 'string', length: 32, default: 'MANUAL' },
    stripeCustomerId: { type: 'string', length: 255, nullable: true },
    stripePaymentMethodId: { type: 'string', length: 255, nullable: true },
    testClockId: { type: 'uuid', nullable: true },
    createdAt: { type: 'Date', columnType: 'timestamptz' },
    updatedAt: { type: 'Date', columnType: 'timestamptz' },
  },
});
