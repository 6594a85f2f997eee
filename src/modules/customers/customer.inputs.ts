import { GraphQLJSONObject } from 'graphql-scalars';
import { Field, ID, InputType, ObjectType } from 'type-graphql';
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
}

@ObjectType()
export class UpdateCustomerPayload {
  @Field(() => CustomerObject)
  customer!: CustomerObject;
}
