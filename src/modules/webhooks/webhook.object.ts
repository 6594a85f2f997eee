import { GraphQLJSONObject } from 'graphql-scalars';
import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { Node } from '../../graphql/node.js';
import { connectionType } from '../../graphql/pagination.js';
import { WEBHOOK_CATALOGUE } from './webhook-catalogue.pure.js';
import { WebhookDeliveryStatus, WebhookTopic, type WebhookAttempt, type WebhookDeliveryWithAttempts, type WebhookEndpoint } from './webhook.record.js';

registerEnumType(WebhookTopic, {
  name: 'WebhookTopic',
  description: 'What a webhook announces; the body\'s "type" is the topic (docs/webhooks/<topic>.schema.json describes its body).',
  valuesConfig: Object.fromEntries(WEBHOOK_CATALOGUE.map((e) => [e.name, { description: `${e.summary} (type "${e.topic}")` }])),
});

registerEnumType(WebhookDeliveryStatus, {
  name: 'WebhookDeliveryStatus',
  valuesConfig: {
    PENDING: { description: 'Not delivered yet; attempted when due.' },
    DELIVERED: { description: 'The endpoint answered 2xx.' },
    FAILED: { description: 'Every attempt failed; no more are made.' },
  },
});

@ObjectType('WebhookEndpoint', { implements: Node, description: 'Where events are POSTed, signed with the secret shown when it was created.' })
export class WebhookEndpointObject {
  @Field(() => ID)
  id!: string;

  @Field(() => String, { description: 'The http(s) URL events are POSTed to.' })
  url!: string;

  @Field(() => String, { nullable: true })
  description!: string | null;

  @Field(() => [WebhookTopic], { description: 'The topics sent to this endpoint.' })
  topics!: WebhookTopic[];

  @Field(() => Boolean, { description: 'Disabled endpoints get no new deliveries and their pending ones wait.' })
  enabled!: boolean;

  @Field(() => Int, { description: 'Failed attempts in a row since the last success.' })
  consecutiveFailures!: number;

  @Field(() => Date, { nullable: true, description: 'When it was disabled, automatically or by hand.' })
  disabledAt!: Date | null;

  @Field(() => String, { nullable: true, description: 'Why it was disabled.' })
  disabledReason!: string | null;

  @Field(() => Date, { nullable: true, description: 'After rotateWebhookSecret: until when requests are signed with the replaced secret too; null when they are not.' })
  previousSecretExpiresAt!: Date | null;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date)
  updatedAt!: Date;
}

@ObjectType('WebhookAttempt', { description: 'One try at delivering.' })
export class WebhookAttemptObject {
  @Field(() => Int, { description: '1 for the first attempt.' })
  attempt!: number;

  @Field(() => Date)
  attemptedAt!: Date;

  @Field(() => Int, { nullable: true, description: 'The HTTP status answered; null when there was no answer.' })
  statusCode!: number | null;

  @Field(() => String, { nullable: true, description: 'Why the attempt failed; null on success.' })
  error!: string | null;

  @Field(() => Int, { description: 'How long the request took, in milliseconds.' })
  durationMs!: number;
}

@ObjectType('WebhookDelivery', { implements: Node, description: 'One event for one endpoint.' })
export class WebhookDeliveryObject {
  @Field(() => ID)
  id!: string;

  @Field(() => ID)
  endpointId!: string;

  @Field(() => WebhookTopic)
  topic!: WebhookTopic;

  @Field(() => ID, { description: 'The event (for alerts, the alert id): the body\'s "id" and the webhook-id header, the same for every delivery of the event.' })
  eventId!: string;

  @Field(() => GraphQLJSONObject, { description: 'The body\'s "data": numbers are decimal strings.' })
  payload!: Record<string, unknown>;

  @Field(() => WebhookDeliveryStatus)
  status!: WebhookDeliveryStatus;

  @Field(() => Int, { description: 'Attempts made so far.' })
  attempts!: number;

  @Field(() => Date, { nullable: true, description: 'When the next attempt is due; null once DELIVERED or FAILED.' })
  nextAttemptAt!: Date | null;

  @Field(() => Date, { nullable: true })
  deliveredAt!: Date | null;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => ID, { nullable: true, description: 'The replay (replayWebhookEvents) that wrote this delivery; null for the delivery written with the event.' })
  replayId!: string | null;

  @Field(() => [WebhookAttemptObject], { description: 'Every attempt, first to last.' })
  attemptLog!: WebhookAttemptObject[];
}

export const WebhookDeliveryConnection = connectionType('WebhookDelivery', WebhookDeliveryObject);
export const WebhookEndpointConnection = connectionType('WebhookEndpoint', WebhookEndpointObject);

export const toWebhookEndpointObject = (e: WebhookEndpoint): WebhookEndpointObject => ({ ...e, topics: [...e.topics] });

const toWebhookAttemptObject = (a: WebhookAttempt): WebhookAttemptObject => ({ ...a });

export const toWebhookDeliveryObject = (d: WebhookDeliveryWithAttempts): WebhookDeliveryObject => ({
  id: d.id,
  endpointId: d.endpointId,
  topic: d.topic,
  eventId: d.eventId,
  payload: d.payload,
  status: d.status,
  attempts: d.attempts,
  nextAttemptAt: d.status === WebhookDeliveryStatus.PENDING ? d.nextAttemptAt : null,
  deliveredAt: d.deliveredAt,
  createdAt: d.createdAt,
  replayId: d.replayId,
  attemptLog: d.attemptLog.map(toWebhookAttemptObject),
});
