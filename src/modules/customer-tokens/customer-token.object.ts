import { Field, ID, ObjectType } from 'type-graphql';
import type { CustomerToken } from './customer-token.entity.js';

@ObjectType('CustomerToken', { description: "A short-lived, read-only credential for one customer's frontend." })
export class CustomerTokenObject {
  @Field(() => ID)
  id!: string;

  @Field(() => ID)
  customerId!: string;

  @Field(() => String, { description: 'The first characters of the token.' })
  prefix!: string;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date, { description: 'After this the token is refused, and sockets opened with it are closed (4403).' })
  expiresAt!: Date;

  @Field(() => Date, { nullable: true })
  revokedAt!: Date | null;
}

export const toCustomerTokenObject = (token: CustomerToken): CustomerTokenObject => ({
  id: token.id,
  customerId: token.customerId,
  prefix: token.prefix,
  createdAt: token.createdAt,
  expiresAt: token.expiresAt,
  revokedAt: token.revokedAt,
});
