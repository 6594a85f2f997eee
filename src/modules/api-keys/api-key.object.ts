import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { Node } from '../../graphql/node.js';
import { connectionType } from '../../graphql/pagination.js';
import type { ApiKey } from './api-key.entity.js';
import { Role } from './principal.pure.js';

registerEnumType(Role, {
  name: 'ApiKeyRole',
  valuesConfig: {
    ADMIN: { description: 'Everything.' },
    INGEST: { description: 'Record usage only.' },
    CUSTOMER: { description: "Read one customer's own data." },
  },
});

@ObjectType('ApiKey', { implements: Node })
export class ApiKeyObject {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  name!: string;

  @Field(() => Role)
  role!: Role;

  @Field(() => ID, { nullable: true })
  customerId!: string | null;

  @Field(() => String, { description: 'The first characters of the secret.' })
  prefix!: string;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date, { nullable: true })
  expiresAt!: Date | null;

  @Field(() => Date, { nullable: true })
  revokedAt!: Date | null;
}

export const ApiKeyConnection = connectionType('ApiKey', ApiKeyObject);

export const toApiKeyObject = (key: ApiKey): ApiKeyObject => ({
  id: key.id,
  name: key.name,
  role: key.role,
  customerId: key.customerId,
  prefix: key.prefix,
  createdAt: key.createdAt,
  expiresAt: key.expiresAt,
  revokedAt: key.revokedAt,
});
