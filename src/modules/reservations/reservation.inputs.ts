import { GraphQLJSONObject } from 'graphql-scalars';
import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';
import { DecimalScalar } from '../../graphql/scalars/decimal.scalar.js';
import type { Decimal } from '../../shared/money/decimal.js';
import { UsageEventObject, UsageRefusalObject, UsageResultStatus } from '../usage/index.js';
import { AuthorizationStatus, ReservationObject } from './reservation.object.js';

@InputType({ description: 'Hold an estimate before long work. Give estimatedQuantity (priced by the rules) or estimatedAmount.' })
export class AuthorizeUsageInput {
  @Field(() => ID, { nullable: true })
  customerId?: string | null;

  @Field(() => String, { nullable: true })
  externalCustomerId?: string | null;

  @Field(() => String)
  meterCode!: string;

  @Field(() => DecimalScalar, { nullable: true })
  estimatedQuantity?: Decimal | null;

  @Field(() => DecimalScalar, { nullable: true })
  estimatedAmount?: Decimal | null;

  @Field(() => GraphQLJSONObject, { nullable: true })
  dimensions?: Record<string, unknown> | null;

  @Field(() => GraphQLJSONObject, { nullable: true })
  values?: Record<string, unknown> | null;

  @Field(() => Int, { nullable: true, defaultValue: 900, description: 'Seconds until the hold expires (1 s to 7 days).' })
  ttlSeconds?: number | null;

  @Field(() => String)
  idempotencyKey!: string;
}

@ObjectType()
export class AuthorizeUsagePayload {
  @Field(() => AuthorizationStatus, { description: 'AUTHORIZED (held) or REFUSED (nothing held; see refusal); an authorization that is wrong is a GraphQL error.' })
  status!: keyof typeof AuthorizationStatus;

  @Field(() => Boolean)
  replayed!: boolean;

  @Field(() => UsageRefusalObject, { nullable: true })
  refusal!: UsageRefusalObject | null;

  @Field(() => ReservationObject, { nullable: true })
  reservation!: ReservationObject | null;
}

@InputType({ description: 'The actual usage of a reservation.' })
export class SettleReservationInput {
  @Field(() => ID)
  reservationId!: string;

  @Field(() => DecimalScalar, { nullable: true })
  quantity?: Decimal | null;

  @Field(() => Date, { nullable: true })
  timestamp?: Date | null;

  @Field(() => GraphQLJSONObject, { nullable: true })
  dimensions?: Record<string, unknown> | null;

  @Field(() => GraphQLJSONObject, { nullable: true })
  values?: Record<string, unknown> | null;

  @Field(() => String)
  idempotencyKey!: string;
}

@ObjectType()
export class SettleReservationPayload {
  @Field(() => UsageResultStatus, { description: 'ACCEPTED (charged) or REFUSED (nothing charged; see refusal), as recordUsage answers; an error is a GraphQL error.' })
  status!: 'ACCEPTED' | 'REFUSED';

  @Field(() => Boolean)
  replayed!: boolean;

  @Field(() => UsageRefusalObject, { nullable: true })
  refusal!: UsageRefusalObject | null;

  @Field(() => UsageEventObject, { nullable: true })
  event!: UsageEventObject | null;

  @Field(() => ReservationObject)
  reservation!: ReservationObject;
}

@InputType()
export class ReleaseReservationInput {
  @Field(() => ID)
  reservationId!: string;
}

@ObjectType()
export class ReleaseReservationPayload {
  @Field(() => ReservationObject)
  reservation!: ReservationObject;
}
