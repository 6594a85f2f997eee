import { GraphQLJSONObject } from 'graphql-scalars';
import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { connectionType } from '../../graphql/pagination.js';
import { WebhookDeliveryStatus, WebhookTopic, type WebhookAttempt, type WebhookDeliveryWithAttempts, type WebhookEndpoint } from './webhook.record.js';

registerEnumType(WebhookTopic, {
  name: 'WebhookTopic',
  valuesConfig: {
    ALERT_TRIGGERED: { description: 'An alert crossed its threshold (body topic "alert.triggered").' },
    WALLET_TOP_UP_REQUESTED: { description: 'An auto top-up rule asks for money (body topic "wallet.top_up_requested").' },
  },
});

registerEnumType(WebhookDeliveryStatus, {
  name: 'WebhookDeliveryStatus',
  valuesConfig: {
    PENDING: { description: 'Not delivered yet; attempted when due.' },
    DELIVERED: { description: 'The endpoint answered 2xx.' },
    FAILED: { description: 'Every attempt failed; no more are made.' },
  },
});

@ObjectType('WebhookEndpoint', { description: 'Where events are POSTed, signed with the secret shown when it was created.' })
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

@ObjectType('WebhookDelivery', { description: 'One event for one endpoint.' })
export class WebhookDeliveryObject {
  @Field(() => ID)
  id!: string;

  @Field(() => ID)
  endpointId!: string;

  @Field(() => WebhookTopic)
  topic!: WebhookTopic;

  @Field(() => ID, { description: 'The event (for alerts, the alert id): the body\'s "id" and the Billing-Event-Id header.' })
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

  @Field(() => [WebhookAttemptObject], { description: 'Every attempt, first to last.' })
  attemptLog!: WebhookAttemptObject[];
}

export const WebhookDeliveryConnection = connectionType('WebhookDelivery', WebhookDeliveryObject);

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
  attemptLog: d.attemptLog.map(toWebhookAttemptObject),
});
