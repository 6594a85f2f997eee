import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { Node } from '../../graphql/node.js';
import { DecimalScalar } from '../../graphql/scalars/decimal.scalar.js';
import { AlertDirection, AlertMetric, RechargeFailurePolicy, type AlertRecord } from './alert.record.js';
import type { AlertDefinition } from './alert.repository.js';

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

registerEnumType(RechargeFailurePolicy, {
  name: 'RechargeFailurePolicy',
  description: "What a failed charge of a wallet's auto-recharge does, besides its alert and wallet.recharge_failed.",
  valuesConfig: {
    NONE: { description: 'Nothing more: the wallet keeps its limit mode (a HARD wallet refuses usage once empty).' },
    SUSPEND: { description: 'Suspends the customer (ACCOUNT_SUSPENDED) until a later recharge of the wallet succeeds.' },
  },
});

@ObjectType('Alert', { implements: Node, description: 'One crossing of a threshold, recorded once.' })
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

@ObjectType('WalletAutoRecharge', {
  description:
    "A wallet's auto-recharge: when its available balance falls below the threshold, the customer's payment provider is charged for the amount (or up to the target) and the wallet topped up, once per crossing. With MANUAL collection the crossing asks the integrator instead (wallet.top_up_requested).",
})
export class WalletAutoRechargeObject {
  @Field(() => ID)
  walletId!: string;

  @Field(() => Boolean)
  enabled!: boolean;

  @Field(() => DecimalScalar, { description: 'Recharges when the available balance (balance less open reservations) falls below this.' })
  threshold!: string;

  @Field(() => DecimalScalar, { nullable: true, description: 'A fixed amount charged per recharge.' })
  amount!: string | null;

  @Field(() => DecimalScalar, { nullable: true, description: 'Charges what brings the available balance up to this (rounded up to the minor unit).' })
  target!: string | null;

  @Field(() => RechargeFailurePolicy)
  onFailure!: RechargeFailurePolicy;

  @Field(() => ID, { description: 'The alert definition that watches the threshold (listed by alertDefinitions; its alerts are the failed recharges).' })
  definitionId!: string;
}

export const toWalletAutoRechargeObject = (d: AlertDefinition): WalletAutoRechargeObject => ({
  walletId: d.walletId!,
  enabled: d.enabled,
  threshold: d.threshold,
  amount: d.topUpAmount,
  target: d.topUpTarget,
  onFailure: d.rechargeOnFailure ?? RechargeFailurePolicy.NONE,
  definitionId: d.id,
});
