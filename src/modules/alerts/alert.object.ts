import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { DecimalScalar } from '../../graphql/scalars/decimal.scalar.js';
import { AlertDirection, AlertMetric, type AlertRecord } from './alert.record.js';

registerEnumType(AlertMetric, {
  name: 'AlertMetric',
  valuesConfig: {
    WALLET_BALANCE: { description: "A wallet's ledger balance, in its currency." },
    WALLET_AVAILABLE: { description: "A wallet's balance less what open reservations hold (what auto top-up watches)." },
    PERIOD_SPEND: { description: "What the customer's usage charged in the current billing period." },
    METER_USAGE: { description: "A meter's quantity in the current billing period." },
    SPENDING_CAP_USED: { description: "Period spend as a percent of the customer's spending cap." },
    ALLOWANCE_USED: { description: "A meter's period quantity as a percent of the definition's allowance." },
  },
});

registerEnumType(AlertDirection, {
  name: 'AlertDirection',
  valuesConfig: {
    BELOW: { description: 'Fires when the value falls below the threshold.' },
    ABOVE: { description: 'Fires when the value reaches the threshold or goes beyond it.' },
  },
});

@ObjectType('Alert', { description: 'One crossing of a threshold, recorded once.' })
export class AlertObject {
  @Field(() => ID)
  id!: string;

  @Field(() => ID)
  definitionId!: string;

  @Field(() => ID)
  customerId!: string;

  @Field(() => ID, { nullable: true })
  walletId!: string | null;

  @Field(() => String)
  name!: string;

  @Field(() => AlertMetric)
  metric!: AlertMetric;

  @Field(() => String, { nullable: true })
  meterCode!: string | null;

  @Field(() => AlertDirection)
  direction!: AlertDirection;

  @Field(() => Int, { description: 'For a recurring definition, how many steps past the first threshold this crossing is (0 is the first).' })
  level!: number;

  @Field(() => DecimalScalar, { description: 'The threshold crossed (an amount, a quantity or a percent).' })
  threshold!: string;

  @Field(() => DecimalScalar, { description: 'The value that crossed it.' })
  value!: string;

  @Field(() => Date, { nullable: true, description: 'The billing period, for period metrics.' })
  periodStart!: Date | null;

  @Field(() => DecimalScalar, { nullable: true, description: 'For an auto top-up rule: the top-up requested. It arrives through topUpWallet.' })
  topUpAmount!: string | null;

  @Field(() => Date)
  createdAt!: Date;
}

export const toAlertObject = (a: AlertRecord): AlertObject => ({
  ...a,
  periodStart: a.periodStart === null ? null : new Date(a.periodStart),
  createdAt: new Date(a.createdAt),
});
