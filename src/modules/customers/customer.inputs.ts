import { GraphQLJSONObject } from 'graphql-scalars';
import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';
import { DecimalScalar } from '../../graphql/scalars/decimal.scalar.js';
import type { Decimal } from '../../shared/money/decimal.js';
import { PaymentProviderName } from './customer.entity.js';
import { CustomerObject } from './customer.object.js';

@InputType({ description: 'A postal address as invoices print it.' })
export class PostalAddressInput {
  @Field(() => String)
  line1!: string;

  @Field(() => String, { nullable: true })
  line2?: string | null;

  @Field(() => String)
  city!: string;

  @Field(() => String, { nullable: true })
  postalCode?: string | null;

  @Field(() => String, { nullable: true, description: 'State, province or county, where the country uses one.' })
  region?: string | null;

  @Field(() => String, { description: 'ISO 3166-1 alpha-2 country code, e.g. "DE".' })
  country!: string;
}

@InputType({ description: "Who the customer's invoices are addressed to; snapshotted onto each invoice when it is finalized." })
export class BillingDetailsInput {
  @Field(() => String, { description: 'The legal entity invoiced (its registered name).' })
  legalName!: string;

  @Field(() => String, { nullable: true, description: 'Where invoices are sent.' })
  email?: string | null;

  @Field(() => PostalAddressInput, { nullable: true })
  address?: PostalAddressInput | null;

  @Field(() => String, { nullable: true, description: 'VAT number or other tax id, as the tax authority writes it.' })
  taxId?: string | null;
}

@InputType()
export class CreateCustomerInput {
  @Field(() => String)
  externalId!: string;

  @Field(() => String)
  name!: string;

  @Field(() => String, { nullable: true })
  email?: string | null;

  @Field(() => String)
  currency!: string;

  @Field(() => String, { nullable: true, description: 'IANA time zone; UTC when absent.' })
  timezone?: string | null;

  @Field(() => GraphQLJSONObject, { nullable: true })
  metadata?: Record<string, unknown> | null;

  @Field(() => DecimalScalar, { nullable: true, description: 'Postpaid cap on spend per billing period, in the customer currency.' })
  spendingCap?: Decimal | null;

  @Field(() => String, { nullable: true, description: "Code of the tax rate invoices apply; wins over the plan's." })
  taxRateCode?: string | null;

  @Field(() => BillingDetailsInput, { nullable: true, description: 'Legal name, address and tax id for invoices; without them invoices show the name.' })
  billingDetails?: BillingDetailsInput | null;

  @Field(() => Int, { nullable: true, description: "Days after finalization an invoice falls due (0 to 365); the deployment's default when absent." })
  paymentTermsDays?: number | null;

  @Field(() => ID, { nullable: true, description: 'A test clock (createTestClock) to put the customer on: it lives at the clock\'s time, apart from live customers. Never changes.' })
  testClockId?: string | null;
}

@ObjectType()
export class CreateCustomerPayload {
  @Field(() => CustomerObject)
  customer!: CustomerObject;
}

@InputType({ description: 'Fields left out keep their value; email: null clears the email.' })
export class UpdateCustomerInput {
  @Field(() => ID)
  id!: string;

  @Field(() => String, { nullable: true })
  name?: string | null;

  @Field(() => String, { nullable: true })
  email?: string | null;

  @Field(() => String, { nullable: true })
  timezone?: string | null;

  @Field(() => GraphQLJSONObject, { nullable: true, description: 'Replaces the whole metadata object.' })
  metadata?: Record<string, unknown> | null;

  @Field(() => DecimalScalar, { nullable: true, description: 'Postpaid cap on spend per billing period; null removes it.' })
  spendingCap?: Decimal | null;

  @Field(() => String, { nullable: true, description: 'Tax rate code; null removes it.' })
  taxRateCode?: string | null;

  @Field(() => BillingDetailsInput, { nullable: true, description: 'Replaces the billing details whole; null removes them. Finalized invoices keep the details they were issued with.' })
  billingDetails?: BillingDetailsInput | null;

  @Field(() => Int, { nullable: true, description: "Payment terms in days; null returns to the deployment's default." })
  paymentTermsDays?: number | null;
}

@ObjectType()
export class UpdateCustomerPayload {
  @Field(() => CustomerObject)
  customer!: CustomerObject;
}

@InputType({ description: 'Who collects the customer\'s invoices and charges its auto-recharges. References only: card numbers never reach this API.' })
export class SetCustomerPaymentMethodInput {
  @Field(() => ID)
  customerId!: string;

  @Field(() => PaymentProviderName, { description: 'MANUAL clears the Stripe references.' })
  provider!: PaymentProviderName;

  @Field(() => String, { nullable: true, description: 'STRIPE (required): the Stripe customer, cus_….' })
  stripeCustomerId?: string | null;

  @Field(() => String, { nullable: true, description: 'STRIPE (required): the customer\'s default payment method at Stripe, pm_…, charged off-session.' })
  stripePaymentMethodId?: string | null;
}

@ObjectType()
export class SetCustomerPaymentMethodPayload {
  @Field(() => CustomerObject)
  customer!: CustomerObject;
}

@InputType({ description: "A customer's postpaid spending cap alone: what an ADMIN key, or the customer's own token with the MANAGE scope, may set." })
export class SetCustomerSpendingCapInput {
  @Field(() => ID)
  customerId!: string;

  @Field(() => DecimalScalar, { nullable: true, description: "Cap on spend per billing period in the customer's currency (zero or more); null removes it." })
  spendingCap!: Decimal | null;
}

@ObjectType()
export class SetCustomerSpendingCapPayload {
  @Field(() => CustomerObject)
  customer!: CustomerObject;
}
