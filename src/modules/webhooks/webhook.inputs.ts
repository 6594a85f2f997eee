import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';
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
    description:
      'The signing secret (whsec_ and base64), shown only once. Requests are signed to the Standard Webhooks specification (webhook-id, webhook-timestamp, webhook-signature headers): verify them with a standardwebhooks library given this secret.',
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

@InputType()
export class RotateWebhookSecretInput {
  @Field(() => ID)
  id!: string;

  @Field(() => Int, { nullable: true, description: 'How long requests are also signed with the replaced secret, in seconds: 0 to 604800, default 86400 (one day).' })
  graceSeconds?: number | null;
}

@ObjectType()
export class RotateWebhookSecretPayload {
  @Field(() => WebhookEndpointObject)
  endpoint!: WebhookEndpointObject;

  @Field(() => String, { description: 'The new signing secret (whsec_ and base64), shown only once.' })
  secret!: string;
}

@InputType({ description: 'Which logged events to send again to one endpoint: those of the topics that happened in [since, until).' })
export class ReplayWebhookEventsInput {
  @Field(() => ID)
  endpointId!: string;

  @Field(() => Date, { description: 'The first instant included (the event\'s timestamp).' })
  since!: Date;

  @Field(() => Date, { description: 'The first instant left out.' })
  until!: Date;

  @Field(() => [WebhookTopic], { nullable: true, description: "Default: the endpoint's topics; each must be one of them." })
  topics?: WebhookTopic[] | null;

  @Field(() => String, { description: 'A retry with the same key and input enqueues nothing more and gets the same answer.' })
  idempotencyKey!: string;
}

@ObjectType()
export class ReplayWebhookEventsPayload {
  @Field(() => ID, { description: "The replay: the deliveries' replayId." })
  replayId!: string;

  @Field(() => ID)
  endpointId!: string;

  @Field(() => Int, { description: 'Events enqueued, each as a new delivery with its original id, timestamp and data.' })
  events!: number;

  @Field(() => Boolean, { description: 'True when this is the answer of an earlier request with the same idempotency key, returned again: nothing was enqueued this time.' })
  replayed!: boolean;
}
