import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { PlanObject, toPlanObject } from '../plans/plan.object.js';
import { BaseFeeTiming, SubscriptionStatus } from './subscription.entity.js';
import type { ActivePlan } from './subscription.service.js';

registerEnumType(SubscriptionStatus, { name: 'SubscriptionStatus' });
registerEnumType(BaseFeeTiming, { name: 'BaseFeeTiming', valuesConfig: { ADVANCE: { description: 'Billed at the start of the period.' }, ARREARS: { description: 'Billed at its end.' } } });

export const BillingAlignment = { CALENDAR: 'CALENDAR', ANNIVERSARY: 'ANNIVERSARY' } as const;
registerEnumType(BillingAlignment, {
  name: 'BillingAlignment',
  valuesConfig: {
    CALENDAR: { description: 'Periods start on the 1st of the month (or Monday), in the customer time zone.' },
    ANNIVERSARY: { description: 'Periods start on the subscription start day and time.' },
  },
});

@ObjectType('PlanSubscription', { description: "A customer's plan from a date (and, once changed or cancelled, to a date)." })
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

  @Field(() => Date)
  startsAt!: Date;

  @Field(() => Date, { nullable: true })
  endsAt!: Date | null;

  @Field(() => Date, { nullable: true })
  trialEndsAt!: Date | null;

  @Field(() => BaseFeeTiming)
  baseFeeTiming!: BaseFeeTiming;
}

export const toSubscriptionObject = ({ subscription: s, plan }: ActivePlan): SubscriptionObject => ({
  id: s.id,
  customerId: s.customerId,
  plan: toPlanObject(plan),
  status: s.status,
  alignment: s.alignment,
  startsAt: s.startsAt,
  endsAt: s.endsAt,
  trialEndsAt: s.trialEndsAt,
  baseFeeTiming: s.baseFeeTiming,
});
