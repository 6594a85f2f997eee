import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { GraphQLJSONObject } from 'graphql-scalars';
import { DecimalScalar } from '../../graphql/scalars/decimal.scalar.js';
import { BalanceCause, type BalanceMessage, type StandingMessage, type UsageMessage } from './live.bus.js';

registerEnumType(BalanceCause, {
  name: 'BalanceChangeCause',
  valuesConfig: {
    SNAPSHOT: { description: 'The state when the subscription started (or restarted), before any change.' },
    USAGE: { description: 'Usage was charged.' },
    TOP_UP: { description: 'Money was added.' },
    GRANT: { description: 'Credits were granted.' },
    ADJUSTMENT: { description: 'A manual adjustment or a void.' },
    HOLD: { description: 'An authorization held money: available fell, the balance did not move.' },
    RELEASE: { description: 'A hold was given back.' },
  },
});

@ObjectType('WalletBalanceUpdate', {
  description:
    'A wallet after a change. `sequence` is the wallet\'s ledger sequence; a client whose last `sequence` differs from this `previousSequence` missed an update and should query the wallet.',
})
export class WalletBalanceUpdate {
  @Field(() => ID)
  walletId!: string;

  @Field(() => ID)
  customerId!: string;

  @Field(() => String)
  currency!: string;

  @Field(() => DecimalScalar)
  balance!: string;

  @Field(() => DecimalScalar, { nullable: true, description: 'Balance of unexpired credit less open holds; null when the reservation store cannot say right now.' })
  available!: string | null;

  @Field(() => DecimalScalar, { nullable: true })
  held!: string | null;

  @Field(() => DecimalScalar, { description: 'How much the balance moved (negative for usage).' })
  change!: string;

  @Field(() => BalanceCause)
  cause!: BalanceCause;

  @Field(() => String)
  sequence!: string;

  @Field(() => String)
  previousSequence!: string;

  @Field(() => Date)
  at!: Date;
}

@ObjectType('LiveUsageEvent')
export class LiveUsageEvent {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  meterCode!: string;

  @Field(() => DecimalScalar)
  quantity!: string;

  @Field(() => DecimalScalar, { description: 'Exact amount.' })
  amount!: string;

  @Field(() => DecimalScalar, { description: 'What the event was charged, at the ledger scale (1e-9).' })
  charged!: string;

  @Field(() => String)
  currency!: string;

  @Field(() => ID, { nullable: true })
  walletId!: string | null;

  @Field(() => Date)
  occurredAt!: Date;

  @Field(() => GraphQLJSONObject)
  dimensions!: Record<string, string>;
}

@ObjectType('UsageRecordedUpdate')
export class UsageRecordedUpdate {
  @Field(() => ID)
  customerId!: string;

  @Field(() => LiveUsageEvent)
  event!: LiveUsageEvent;

  @Field(() => Date)
  periodStart!: Date;

  @Field(() => DecimalScalar, { nullable: true, description: "The customer's spend in the event's currency in the period so far, after the commit that recorded it." })
  periodSpend!: string | null;

  @Field(() => Date)
  at!: Date;
}

export const CustomerStanding = { ACTIVE: 'ACTIVE', SUSPENDED: 'SUSPENDED' } as const;
export type CustomerStanding = (typeof CustomerStanding)[keyof typeof CustomerStanding];
registerEnumType(CustomerStanding, {
  name: 'CustomerStanding',
  valuesConfig: {
    ACTIVE: { description: 'Usage is accepted (reinstated).' },
    SUSPENDED: { description: 'New usage and authorizations are refused (ACCOUNT_SUSPENDED) until the uncollectible invoice is paid.' },
  },
});

@ObjectType('CustomerStandingUpdate', { description: 'A customer suspended for an uncollectible invoice, or reinstated by a payment.' })
export class CustomerStandingUpdate {
  @Field(() => ID)
  customerId!: string;

  @Field(() => CustomerStanding)
  status!: CustomerStanding;

  @Field(() => String, { nullable: true, description: 'Why it is suspended; null once reinstated.' })
  reason!: string | null;

  @Field(() => Date)
  at!: Date;
}

/** Turns a message into its GraphQL object once per instance, however many subscribers it has. */
const converted = new WeakMap<object, object>();
export function once<M extends object, O extends object>(m: M, convert: (m: M) => O): O {
  let o = converted.get(m) as O | undefined;
  if (!o) converted.set(m, (o = convert(m)));
  return o;
}

export const toBalanceUpdate = (m: BalanceMessage): WalletBalanceUpdate => once(m, (x) => ({ ...x, at: new Date(x.at) }));

export const toUsageUpdate = (m: UsageMessage): UsageRecordedUpdate =>
  once(m, (x) => ({
    customerId: x.customerId,
    event: { ...x.event, occurredAt: new Date(x.event.occurredAt) },
    periodStart: new Date(x.periodStart),
    periodSpend: x.periodSpend,
    at: new Date(x.at),
  }));

export const toStandingUpdate = (m: StandingMessage): CustomerStandingUpdate => once(m, (x) => ({ customerId: x.customerId, status: x.status, reason: x.reason, at: new Date(x.at) }));
