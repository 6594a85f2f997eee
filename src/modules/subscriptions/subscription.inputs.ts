import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';
import { BaseFeeTiming } from './subscription.entity.js';
import { BillingAlignment, SubscriptionObject } from './subscription.object.js';

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
