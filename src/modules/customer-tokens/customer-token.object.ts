import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { Node } from '../../graphql/node.js';
import { type Principal, Role } from '../api-keys/index.js';
import { CustomerTokenScope, type CustomerToken } from './customer-token.entity.js';

registerEnumType(CustomerTokenScope, {
  name: 'CustomerTokenScope',
  valuesConfig: {
    READ: { description: "Query and subscribe to the customer's own data (every token)." },
    MANAGE: { description: "Also set the customer's spending cap (setCustomerSpendingCap) and create, update and delete its alert thresholds." },
  },
});

@ObjectType('CustomerToken', { implements: Node, description: "A short-lived credential for one customer's frontend: read-only unless minted with the MANAGE scope." })
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

  @Field(() => [CustomerTokenScope])
  scopes!: CustomerTokenScope[];
}

export const toCustomerTokenObject = (token: CustomerToken): CustomerTokenObject => ({
  id: token.id,
  customerId: token.customerId,
  prefix: token.prefix,
  createdAt: token.createdAt,
  expiresAt: token.expiresAt,
  revokedAt: token.revokedAt,
  scopes: token.scopes,
});

@ObjectType('Viewer', { description: 'The credential that sent this request, as a frontend needs to know it.' })
export class ViewerObject {
  @Field(() => Role)
  role!: Role;

  @Field(() => ID, { nullable: true, description: 'The only customer it may see (CUSTOMER keys and customer tokens).' })
  customerId!: string | null;

  @Field(() => Boolean, { description: 'A customer token (rather than an API key).' })
  customerToken!: boolean;

  @Field(() => Boolean, { description: "It may set the customer's spending cap and alert thresholds: an ADMIN key, or a customer token with the MANAGE scope." })
  canManage!: boolean;

  @Field(() => Date, { nullable: true, description: 'When it stops working; null for API keys that do not expire.' })
  expiresAt!: Date | null;
}

export const toViewerObject = (p: Principal): ViewerObject => ({
  role: p.role,
  customerId: p.customerId,
  customerToken: !!p.readOnly,
  canManage: p.role === Role.ADMIN || (p.role === Role.CUSTOMER && !!p.manage),
  expiresAt: p.expiresAt ?? null,
});
