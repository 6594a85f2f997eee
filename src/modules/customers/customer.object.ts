import { GraphQLJSONObject } from 'graphql-scalars';
import { Field, ID, Int, ObjectType, registerEnumType, UseMiddleware } from 'type-graphql';
import { AdminOnly } from '../../graphql/admin-only.js';
import { Node } from '../../graphql/node.js';
import { connectionType } from '../../graphql/pagination.js';
import { DecimalScalar } from '../../graphql/scalars/decimal.scalar.js';
import { formatLedgerUnits } from '../../shared/money/units.js';
import type { BillingDetails, PostalAddress } from './billing-details.pure.js';
import { PaymentProviderName, type Customer } from './customer.entity.js';

registerEnumType(PaymentProviderName, {
  name: 'PaymentProvider',
  description: "Who collects a customer's invoices.",
  valuesConfig: {
    MANUAL: { description: "The integrator's own payment flow collects and reports each attempt (recordPaymentAttempt)." },
    STRIPE: { description: "Stripe charges the customer's default payment method off-session; its webhooks settle." },
  },
});

@ObjectType('PostalAddress')
export class PostalAddressObject {
  @Field(() => String)
  line1!: string;

  @Field(() => String, { nullable: true })
  line2!: string | null;

  @Field(() => String)
  city!: string;

  @Field(() => String, { nullable: true })
  postalCode!: string | null;

  @Field(() => String, { nullable: true })
  region!: string | null;

  @Field(() => String, { description: 'ISO 3166-1 alpha-2 country code.' })
  country!: string;
}

@ObjectType('BillingDetails')
export class BillingDetailsObject {
  @Field(() => String)
  legalName!: string;

  @Field(() => String, { nullable: true })
  email!: string | null;

  @Field(() => PostalAddressObject, { nullable: true })
  address!: PostalAddressObject | null;

  @Field(() => String, { nullable: true })
  taxId!: string | null;
}

@ObjectType('Customer', { implements: Node })
export class CustomerObject {
  @Field(() => ID)
  id!: string;

  @Field(() => String, { description: "The integrator's own id for this customer." })
  externalId!: string;

  @Field(() => String)
  name!: string;

  @Field(() => String, { nullable: true })
  email!: string | null;

  @Field(() => String, { description: 'ISO 4217 currency or credit unit the customer is billed in.' })
  currency!: string;

  @Field(() => String, { description: 'IANA time zone used for billing periods and daily usage.' })
  timezone!: string;

  @Field(() => GraphQLJSONObject, { description: 'String keys to string values.' })
  metadata!: Record<string, string>;

  @Field(() => DecimalScalar, { nullable: true, description: 'Postpaid cap on spend per billing period.' })
  spendingCap!: string | null;

  @Field(() => String, { nullable: true, description: 'Code of the tax rate its invoices apply.' })
  taxRateCode!: string | null;

  @Field(() => Date, { nullable: true, description: 'Set while an uncollectible invoice suspends the customer: new usage and authorizations are refused (ACCOUNT_SUSPENDED).' })
  suspendedAt!: Date | null;

  @Field(() => String, { nullable: true, description: 'Why it is suspended.' })
  suspensionReason!: string | null;

  @Field(() => BillingDetailsObject, { nullable: true, description: 'Legal name, address and tax id its invoices are addressed to.' })
  billingDetails!: BillingDetailsObject | null;

  @Field(() => Int, { nullable: true, description: "Its own payment terms in days; null: the deployment's default." })
  paymentTermsDays!: number | null;

  @UseMiddleware(AdminOnly)
  @Field(() => PaymentProviderName, { nullable: true, description: 'Who collects its invoices and charges its auto-recharges (setCustomerPaymentMethod). ADMIN only: null for CUSTOMER keys and customer tokens.' })
  paymentProvider!: PaymentProviderName | null;

  @UseMiddleware(AdminOnly)
  @Field(() => String, { nullable: true, description: 'STRIPE: the Stripe customer (cus_…) charged. ADMIN only: null for CUSTOMER keys and customer tokens.' })
  stripeCustomerId!: string | null;

  @UseMiddleware(AdminOnly)
  @Field(() => String, { nullable: true, description: 'STRIPE: the default payment method (pm_…) charged off-session. The card stays at Stripe. ADMIN only: null for CUSTOMER keys and customer tokens.' })
  stripePaymentMethodId!: string | null;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date)
  updatedAt!: Date;

  /** The test clock it lives on (Customer.testClock resolves it); null for a live customer. */
  testClockId!: string | null;
}

export const CustomerConnection = connectionType('Customer', CustomerObject);

export const toCustomerObject = (c: Customer): CustomerObject => ({
  id: c.id,
  externalId: c.externalId,
  name: c.name,
  email: c.email,
  currency: c.currency,
  timezone: c.timezone,
  metadata: c.metadata,
  spendingCap: c.spendingCap === null ? null : formatLedgerUnits(c.spendingCap),
  taxRateCode: c.taxRateCode,
  suspendedAt: c.suspendedAt ?? null,
  suspensionReason: c.suspensionReason ?? null,
  billingDetails: c.billingDetails && toBillingDetails(c.billingDetails),
  paymentTermsDays: c.paymentTermsDays,
  paymentProvider: c.paymentProvider as PaymentProviderName,
  stripeCustomerId: c.stripeCustomerId,
  stripePaymentMethodId: c.stripePaymentMethodId,
  createdAt: c.createdAt,
  updatedAt: c.updatedAt,
  testClockId: c.testClockId,
});

const toAddress = (a: PostalAddress): PostalAddressObject => ({ line1: a.line1, line2: a.line2, city: a.city, postalCode: a.postalCode, region: a.region, country: a.country });
const toBillingDetails = (b: BillingDetails): BillingDetailsObject => ({ legalName: b.legalName, email: b.email, address: b.address && toAddress(b.address), taxId: b.taxId });
