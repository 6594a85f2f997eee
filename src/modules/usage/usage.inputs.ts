import { GraphQLJSONObject } from 'graphql-scalars';
import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';
import { DecimalScalar } from '../../graphql/scalars/decimal.scalar.js';
import type { Decimal } from '../../shared/money/decimal.js';
import { UsageEventObject, UsageRefusalObject, UsageResultObject, UsageResultStatus, UsageWalletObject } from './usage.object.js';

@InputType({ description: 'One usage event. Give customerId or externalCustomerId.' })
export class RecordUsageInput {
  @Field(() => ID, { nullable: true })
  customerId?: string | null;

  @Field(() => String, { nullable: true })
  externalCustomerId?: string | null;

  @Field(() => String)
  meterCode!: string;

  @Field(() => DecimalScalar, { nullable: true, description: 'Positive, at most 6 decimals (a RECURRING meter: its new level, 0 allowed). Leave out for COUNT meters.' })
  quantity?: Decimal | null;

  @Field(() => Date, { nullable: true, description: 'When the usage happened; now when absent. At most USAGE_MAX_AGE_DAYS in the past.' })
  timestamp?: Date | null;

  @Field(() => GraphQLJSONObject, { nullable: true, description: 'Dimension values, e.g. {"model": "gpt-4o", "tokenType": "input"}; keys the meter declares.' })
  dimensions?: Record<string, unknown> | null;

  @Field(() => GraphQLJSONObject, { nullable: true, description: 'Amounts the event carries, as decimal strings, e.g. {"providerCost": "0.0123"}.' })
  values?: Record<string, unknown> | null;

  @Field(() => String, { description: 'Unique per event for the customer: a retry returns the first result and is never charged twice.' })
  idempotencyKey!: string;
}

@ObjectType()
export class RecordUsagePayload {
  @Field(() => UsageResultStatus, { description: 'ACCEPTED (charged) or REFUSED (nothing charged; see refusal), as in a batch result; an event that is wrong is a GraphQL error.' })
  status!: 'ACCEPTED' | 'REFUSED';

  @Field(() => Boolean, { description: 'True when this is the stored result of an earlier request with the same key.' })
  replayed!: boolean;

  @Field(() => UsageRefusalObject, { nullable: true })
  refusal!: UsageRefusalObject | null;

  @Field(() => UsageEventObject, { nullable: true })
  event!: UsageEventObject | null;

  @Field(() => UsageWalletObject, { nullable: true, description: 'The wallet right after the event (prepaid only).' })
  wallet!: UsageWalletObject | null;
}

@InputType()
export class RecordUsageBatchInput {
  @Field(() => [RecordUsageInput], { description: 'Up to 1,000 events.' })
  events!: RecordUsageInput[];

  @Field(() => Boolean, { defaultValue: false, description: 'All-or-nothing: every event is charged, or none is.' })
  atomic!: boolean;
}

@ObjectType()
export class RecordUsageBatchPayload {
  @Field(() => Int)
  acceptedCount!: number;

  @Field(() => Boolean)
  allAccepted!: boolean;

  @Field(() => Int, { nullable: true, description: 'In an atomic batch that failed: the index of the event that failed.' })
  failedIndex!: number | null;

  @Field(() => [UsageResultObject], { description: 'One result per event, in order.' })
  results!: UsageResultObject[];
}
