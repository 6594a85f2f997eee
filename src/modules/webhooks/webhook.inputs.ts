import { Field, ID, InputType, ObjectType } from 'type-graphql';
import { WebhookTopic } from './webhook.record.js';
import { WebhookEndpointObject } from './webhook.object.js';

@InputType()
export class CreateWebhookEndpointInput {
  @Field(() => String, { description: 'An absolute http(s) URL, at most 2048 characters.' })
  url!: string;

  @Field(() => [WebhookTopic], { description: 'At least one topic.' })
  topics!: WebhookTopic[];

  @Field(() => String, { nullable: true, description: 'At most 200 characters.' })
  description?: string | null;
}

@ObjectType()
export class CreateWebhookEndpointPayload {
  @Field(() => WebhookEndpointObject)
  endpoint!: WebhookEndpointObject;

  @Field(() => String, {
    description: 'The signing secret (whsec_…), shown only once. Each request carries Billing-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>.',
  })
  secret!: string;
}

@InputType({ description: 'Fields left out keep their value; description: null clears it.' })
export class UpdateWebhookEndpointInput {
  @Field(() => ID)
  id!: string;

  @Field(() => String, { nullable: true })
  url?: string | null;

  @Field(() => [WebhookTopic], { nullable: true })
  topics?: WebhookTopic[] | null;

  @Field(() => String, { nullable: true })
  description?: string | null;

  @Field(() => Boolean, { nullable: true, description: 'true re-enables the endpoint, clears its failures and resumes its pending deliveries now.' })
  enabled?: boolean | null;
}

@ObjectType()
export class UpdateWebhookEndpointPayload {
  @Field(() => WebhookEndpointObject)
  endpoint!: WebhookEndpointObject;
}
