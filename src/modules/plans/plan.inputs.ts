import { Field, InputType, Int, ObjectType } from 'type-graphql';
import { DecimalScalar } from '../../graphql/scalars/decimal.scalar.js';
import type { Decimal } from '../../shared/money/decimal.js';
import { BillingInterval, DunningPolicy } from './plan.entity.js';
import { PlanObject } from './plan.object.js';

@InputType()
export class PlanChargeInput {
  @Field(() => String)
  meterCode!: string;

  @Field(() => String, { description: 'Key of the rule set in rules/ that prices this meter.' })
  ruleSetKey!: string;

  @Field(() => String, { nullable: true })
  displayName?: string | null;

  @Field(() => [String], { nullable: true })
  groupBy?: string[] | null;
}

@InputType({ description: "Retrying an invoice's failed payments, and what an uncollectible invoice does to the customer." })
export class PlanDunningInput {
  @Field(() => [Int], { nullable: true, description: "Days after an invoice's first failed payment on which a retry is due, increasing; absent: DUNNING_RETRY_DAYS; empty: no retry." })
  retryDays?: number[] | null;

  @Field(() => DunningPolicy, { nullable: true, description: 'SUSPEND refuses the customer new usage while an invoice of this plan is uncollectible; NONE (default) does not.' })
  policy?: DunningPolicy | null;
}

@InputType()
export class CreatePlanInput {
  @Field(() => String)
  code!: string;

  @Field(() => String)
  name!: string;

  @Field(() => String, { nullable: true })
  description?: string | null;

  @Field(() => String)
  currency!: string;

  @Field(() => BillingInterval)
  billingInterval!: BillingInterval;

  @Field(() => DecimalScalar)
  baseFee!: Decimal;

  @Field(() => [PlanChargeInput], { nullable: true })
  charges?: PlanChargeInput[] | null;

  @Field(() => String, { nullable: true, description: "Tax rate code its invoices apply unless the customer names one." })
  taxRateCode?: string | null;

  @Field(() => PlanDunningInput, { nullable: true, description: 'The global retry days and policy NONE when absent.' })
  dunning?: PlanDunningInput | null;
}

@ObjectType()
export class CreatePlanPayload {
  @Field(() => PlanObject)
  plan!: PlanObject;
}

@InputType({ description: 'A new version of an existing plan; fields left out are copied from the latest version.' })
export class CreatePlanVersionInput {
  @Field(() => String)
  code!: string;

  @Field(() => String, { nullable: true })
  name?: string | null;

  @Field(() => String, { nullable: true })
  description?: string | null;

  @Field(() => BillingInterval, { nullable: true })
  billingInterval?: BillingInterval | null;

  @Field(() => DecimalScalar, { nullable: true })
  baseFee?: Decimal | null;

  @Field(() => [PlanChargeInput], { nullable: true, description: 'Replaces all charges when given.' })
  charges?: PlanChargeInput[] | null;

  @Field(() => String, { nullable: true, description: 'Tax rate code; null removes it, absent copies it.' })
  taxRateCode?: string | null;

  @Field(() => PlanDunningInput, { nullable: true, description: 'Replaces the dunning settings when given; absent copies them.' })
  dunning?: PlanDunningInput | null;
}

@ObjectType()
export class CreatePlanVersionPayload {
  @Field(() => PlanObject)
  plan!: PlanObject;
}
