import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { Node } from '../../graphql/node.js';
import { connectionType } from '../../graphql/pagination.js';
import { PlanObject, toPlanObject } from '../plans/index.js';
import { BaseFeeTiming, SubscriptionStatus } from './subscription.entity.js';
import type { ActivePlan } from './subscription.service.js';

registerEnumType(SubscriptionStatus, { name: 'SubscriptionStatus' });
registerEnumType(BaseFeeTiming, { name: 'BaseFeeTiming', valuesConfig: { ADVANCE: { description: 'Billed at the start of the period.' }, ARREARS: { description: 'Billed at its end.' } } });

export const ChangeTiming = { IMMEDIATE: 'IMMEDIATE', PERIOD_END: 'PERIOD_END' } as const;
registerEnumType(ChangeTiming, {
  name: 'ChangeTiming',
  valuesConfig: {
    IMMEDIATE: { description: 'Now; base fees are prorated on the invoice.' },
    PERIOD_END: { description: 'At the end of the current billing period.' },
  },
});

export const BillingAlignment = { CALENDAR: 'CALENDAR', ANNIVERSARY: 'ANNIVERSARY' } as const;
registerEnumType(BillingAlignment, {
  name: 'BillingAlignment',
  valuesConfig: {
    CALENDAR: { description: 'Periods start on the 1st of the month (or Monday), in the customer time zone.' },
    ANNIVERSARY: { description: 'Periods start on the subscription start day and time.' },
  },
});

@ObjectType('SubscriptionPeriod', { description: 'A billing period of a subscription, [start, end), as its invoice counts it.' })
export class SubscriptionPeriodObject {
  @Field(() => Date)
  start!: Date;

  @Field(() => Date, { description: 'Exclusive: the start of the next period.' })
  end!: Date;
}

@ObjectType('PlanSubscription', { implements: Node, description: "A customer's plan from a date (and, once changed or cancelled, to a date)." })
export class SubscriptionObject {
  @Field(() => ID)
  id!: string;

  @Field(() => ID)
  customerId!: string;

  @Field(() => PlanObject)
  plan!: PlanObject;

  @Field(() => SubscriptionStatus)
  status!: SubscriptionStatus;

  @Field(() => BillingAlignment)
  alignment!: keyof typeof BillingAlignment;

  @Field(() => Int, { nullable: true, description: 'The day of the month CALENDAR periods start on (the last day of a shorter month); null: the 1st.' })
  billingDay!: number | null;

  @Field(() => Date)
  startsAt!: Date;

  @Field(() => Date, { nullable: true })
  endsAt!: Date | null;

  @Field(() => Date, { nullable: true })
  trialEndsAt!: Date | null;

  @Field(() => BaseFeeTiming)
  baseFeeTiming!: BaseFeeTiming;

  @Field(() => Date, { description: 'The instant anniversary periods count from; kept across plan changes.' })
  billingAnchor!: Date;

  @Field(() => Boolean)
  cancelAtPeriodEnd!: boolean;

  @Field(() => Date, { nullable: true })
  canceledAt!: Date | null;

  @Field(() => ID, { nullable: true, description: 'The subscription this one replaced on a plan change.' })
  replacesSubscriptionId!: string | null;
}

export const SubscriptionConnection = connectionType('PlanSubscription', SubscriptionObject);

/** The cursor key of a subscription: its start in epoch milliseconds, then its id. */
export const subscriptionKey = ({ subscription: s }: ActivePlan): string => `${s.startsAt.getTime()}|${s.id}`;

export const toSubscriptionObject = ({ subscription: s, plan }: ActivePlan): SubscriptionObject => ({
  id: s.id,
  customerId: s.customerId,
  plan: toPlanObject(plan),
  status: s.status,
  alignment: s.alignment,
  billingDay: s.billingDay,
  startsAt: s.startsAt,
  endsAt: s.endsAt,
  trialEndsAt: s.trialEndsAt,
  baseFeeTiming: s.baseFeeTiming,
  billingAnchor: s.billingAnchor,
  cancelAtPeriodEnd: s.cancelAtPeriodEnd,
  canceledAt: s.canceledAt,
  replacesSubscriptionId: s.replacesSubscriptionId,
});
