import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';
import { CustomerTokenScope } from './customer-token.entity.js';
import { CustomerTokenObject } from './customer-token.object.js';

@InputType()
export class CreateCustomerTokenInput {
  @Field(() => ID, { description: 'The only customer the token may read.' })
  customerId!: string;

  @Field(() => Int, { nullable: true, description: 'Lifetime in seconds: 10 to 86400 (24 hours); 900 (15 minutes) by default.' })
  ttlSeconds?: number | null;

  @Field(() => [CustomerTokenScope], {
    nullable: true,
    description: 'What the token may do: [READ] (the default) reads; [READ, MANAGE] also sets the customer\'s spending cap and alert thresholds. READ is always included.',
  })
  scopes?: CustomerTokenScope[] | null;
}

@ObjectType()
export class CreateCustomerTokenPayload {
  @Field(() => CustomerTokenObject)
  customerToken!: CustomerTokenObject;

  @Field(() => String, { description: 'The token to send as "Authorization: Bearer <token>" (HTTP) or in connection_init (WebSocket). Shown only once.' })
  token!: string;
}

@InputType()
export class RevokeCustomerTokenInput {
  @Field(() => ID)
  id!: string;
}

@ObjectType()
export class RevokeCustomerTokenPayload {
  @Field(() => CustomerTokenObject)
  customerToken!: CustomerTokenObject;
}
