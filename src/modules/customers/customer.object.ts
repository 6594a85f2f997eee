import { GraphQLJSONObject } from 'graphql-scalars';
import { Field, ID, ObjectType } from 'type-graphql';
import { connectionType } from '../../graphql/pagination.js';
import { DecimalScalar } from '../../graphql/scalars/decimal.scalar.js';
import { formatLedgerUnits } from '../../shared/money/units.js';
import type { Customer } from './customer.entity.js';

@ObjectType('Customer')
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

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date)
  updatedAt!: Date;
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
  createdAt: c.createdAt,
  updatedAt: c.updatedAt,
});
