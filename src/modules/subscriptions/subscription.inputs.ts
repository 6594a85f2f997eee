import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';
import { BaseFeeTiming } from './subscription.entity.js';
import { BillingAlignment, ChangeTiming, SubscriptionObject } from './subscription.object.js';

@InputType()
export class CreateSubscriptionInput {
  @Field(() => ID)
  customerId!: string;

  @Field(() => String)
  planCode!: string;

  @Field(() => Int, { nullable: true, description: 'The latest version when absent.' })
  planVersion?: number | null;

  @Field(() => Date, { nullable: true, description: 'Now when absent.' })
  startsAt?: Date | null;

  @Field(() => BillingAlignment, { nullable: true, defaultValue: 'CALENDAR' })
  alignment?: keyof typeof BillingAlignment | null;

  @Field(() => Int, {
    nullable: true,
    description: 'CALENDAR monthly, quarterly and yearly plans: periods start on this day of the month (1-31; the last day of a shorter month). The 1st when absent.',
  })
  billingDay?: number | null;

  @Field(() => Date, { nullable: true })
  trialEndsAt?: Date | null;

  @Field(() => BaseFeeTiming, { nullable: true, defaultValue: 'ADVANCE' })
  baseFeeTiming?: BaseFeeTiming | null;
}

@ObjectType()
export class CreateSubscriptionPayload {
  @Field(() => SubscriptionObject)
  subscription!: SubscriptionObject;
}

@InputType()
export class ChangeSubscriptionPlanInput {
  @Field(() => ID)
  subscriptionId!: string;

  @Field(() => String)
  planCode!: string;

  @Field(() => Int, { nullable: true, description: 'The latest version when absent.' })
  planVersion?: number | null;

  @Field(() => ChangeTiming, { nullable: true, description: 'Default: IMMEDIATE when the new base fee is higher (an upgrade), PERIOD_END otherwise (a downgrade).' })
  timing?: keyof typeof ChangeTiming | null;
}

@ObjectType()
export class ChangeSubscriptionPlanPayload {
  @Field(() => SubscriptionObject, { description: 'The new subscription (starting now or at the end of the period).' })
  subscription!: SubscriptionObject;
}

@InputType()
export class CancelSubscriptionInput {
  @Field(() => ID)
  subscriptionId!: string;

  @Field(() => ChangeTiming, { defaultValue: 'PERIOD_END' })
  timing!: keyof typeof ChangeTiming;
}

@ObjectType()
export class CancelSubscriptionPayload {
  @Field(() => SubscriptionObject)
  subscription!: SubscriptionObject;
}
