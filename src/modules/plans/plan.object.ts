import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { Node } from '../../graphql/node.js';
import { connectionType } from '../../graphql/pagination.js';
import { DecimalScalar } from '../../graphql/scalars/decimal.scalar.js';
import { Decimal, formatDecimal } from '../../shared/money/decimal.js';
import { BillingInterval, DunningPolicy } from './plan.entity.js';
import type { PlanView } from './plan.service.js';

registerEnumType(BillingInterval, { name: 'BillingInterval' });
registerEnumType(DunningPolicy, {
  name: 'DunningPolicy',
  valuesConfig: {
    SUSPEND: { description: 'While an invoice is uncollectible the customer is suspended: new usage and authorizations are refused (ACCOUNT_SUSPENDED).' },
    NONE: { description: 'An uncollectible invoice does not change what the customer may do.' },
  },
});

@ObjectType('PlanDunning', { description: "Retrying an invoice's failed payments, and what an uncollectible invoice does to the customer." })
export class PlanDunningObject {
  @Field(() => [Int], { nullable: true, description: "Days after an invoice's first failed payment on which a retry is due; null: the global DUNNING_RETRY_DAYS." })
  retryDays!: number[] | null;

  @Field(() => DunningPolicy)
  policy!: DunningPolicy;
}

@ObjectType('PlanCharge', { description: 'A meter of the plan and the rule set that prices it.' })
export class PlanChargeObject {
  @Field(() => String)
  meterCode!: string;

  @Field(() => String)
  ruleSetKey!: string;

  @Field(() => String, { nullable: true })
  displayName!: string | null;

  @Field(() => [String], { description: 'Dimensions the invoice groups this usage by.' })
  groupBy!: string[];
}

@ObjectType('Plan', { implements: Node, description: 'One immutable version of a plan.' })
export class PlanObject {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  code!: string;

  @Field(() => Int)
  version!: number;

  @Field(() => String)
  name!: string;

  @Field(() => String, { nullable: true })
  description!: string | null;

  @Field(() => String)
  currency!: string;

  @Field(() => BillingInterval)
  billingInterval!: BillingInterval;

  @Field(() => DecimalScalar)
  baseFee!: string;

  @Field(() => String, { nullable: true, description: 'Tax rate its invoices apply unless the customer names one.' })
  taxRateCode!: string | null;

  @Field(() => [PlanChargeObject])
  charges!: PlanChargeObject[];

  @Field(() => PlanDunningObject)
  dunning!: PlanDunningObject;

  @Field(() => Date)
  createdAt!: Date;
}

export const PlanConnection = connectionType('Plan', PlanObject);

export const toPlanObject = ({ plan, charges }: PlanView): PlanObject => ({
  id: plan.id,
  code: plan.code,
  version: plan.version,
  name: plan.name,
  description: plan.description,
  currency: plan.currency,
  billingInterval: plan.billingInterval,
  baseFee: formatDecimal(new Decimal(plan.baseFee)),
  taxRateCode: plan.taxRateCode,
  dunning: { retryDays: plan.dunningRetryDays, policy: plan.dunningPolicy },
  createdAt: plan.createdAt,
  charges: charges.map(({ charge, meter }) => ({
    meterCode: meter.code,
    ruleSetKey: charge.ruleSetKey,
    displayName: charge.displayName,
    groupBy: charge.groupBy,
  })),
});
