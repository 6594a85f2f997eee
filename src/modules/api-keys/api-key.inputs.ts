import { Field, ID, InputType, ObjectType } from 'type-graphql';
import { ApiKeyObject } from './api-key.object.js';
import { Role } from './principal.pure.js';

@InputType()
export class CreateApiKeyInput {
  @Field(() => String)
  name!: string;

  @Field(() => Role)
  role!: Role;

  @Field(() => ID, { nullable: true, description: 'Required for CUSTOMER keys: the customer the key may read.' })
  customerId?: string | null;

  @Field(() => Date, { nullable: true })
  expiresAt?: Date | null;
}

@ObjectType()
export class CreateApiKeyPayload {
  @Field(() => ApiKeyObject)
  apiKey!: ApiKeyObject;

  @Field(() => String, { description: 'The secret to send as "Authorization: Bearer <secret>". Shown only once.' })
  secret!: string;
}

@InputType()
export class RevokeApiKeyInput {
  @Field(() => ID)
  id!: string;
}

@ObjectType()
export class RevokeApiKeyPayload {
  @Field(() => ApiKeyObject)
  apiKey!: ApiKeyObject;
}
