import { GraphQLJSONObject } from 'graphql-scalars';
import { Field, ID, InputType, ObjectType } from 'type-graphql';
import { DecimalScalar } from '../../graphql/scalars/decimal.scalar.js';
import type { Decimal } from '../../shared/money/decimal.js';
import { CustomerObject } from './customer.object.js';

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
}

@ObjectType()
export class UpdateCustomerPayload {
  @Field(() => CustomerObject)
  customer!: CustomerObject;
}
