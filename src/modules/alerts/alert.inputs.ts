import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';
import { Node } from '../../graphql/node.js';
import { DecimalScalar } from '../../graphql/scalars/decimal.scalar.js';
import type { Decimal } from '../../shared/money/decimal.js';
import { AlertObject, WalletAutoRechargeObject } from './alert.object.js';
import { AlertDirection, AlertMetric, RechargeFailurePolicy } from './alert.record.js';
import type { AlertDefinition } from './alert.repository.js';

@InputType({
  description:
    'A threshold to watch. Wallet metrics take walletId; the others customerId (and meterCode for meter metrics). Amounts are in the currency, quantities in meter units, percents from 0 to 1000.',
})
export class CreateAlertDefinitionInput {
  @Field(() => String, { nullable: true, description: 'Defaults to a description of the threshold.' })
  name?: string | null;

  @Field(() => AlertMetric)
  metric!: AlertMetric;

  @Field(() => ID, { nullable: true })
  customerId?: string | null;

  @Field(() => ID, { nullable: true })
  walletId?: string | null;

  @Field(() => String, { nullable: true, description: 'PERIOD_SPEND: the currency of the spend (default: the customer\'s). Defaults for new wallets: the wallets\' currency (default: any).' })
  currency?: string | null;

  @Field(() => String, { nullable: true })
  meterCode?: string | null;

  @Field(() => AlertDirection, { nullable: true, description: 'Default: BELOW for wallet metrics, ABOVE for the others.' })
  direction?: AlertDirection | null;

  @Field(() => DecimalScalar)
  threshold!: Decimal;

  @Field(() => DecimalScalar, { nullable: true, description: 'Recurring: fire again at every further step of this size (ABOVE: threshold + n × every; BELOW: threshold − n × every).' })
  every?: Decimal | null;

  @Field(() => DecimalScalar, { nullable: true, description: 'ALLOWANCE_USED: the quantity that is 100%.' })
  allowance?: Decimal | null;

  @Field(() => DecimalScalar, { nullable: true, description: 'Auto top-up (WALLET_AVAILABLE, BELOW): request this fixed amount.' })
  topUpAmount?: Decimal | null;

  @Field(() => DecimalScalar, { nullable: true, description: 'Auto top-up (WALLET_AVAILABLE, BELOW): request what brings available up to this.' })
  topUpTarget?: Decimal | null;

  @Field(() => Boolean, { nullable: true, defaultValue: false, description: 'A default copied onto every wallet created from now on (wallet metrics only).' })
  defaultForNewWallets?: boolean | null;
}

@InputType()
export class UpdateAlertDefinitionInput {
  @Field(() => ID)
  id!: string;

  @Field(() => String, { nullable: true })
  name?: string | null;

  @Field(() => DecimalScalar, { nullable: true, description: 'A new threshold, recurrence or allowance re-arms the definition.' })
  threshold?: Decimal | null;

  @Field(() => DecimalScalar, { nullable: true })
  every?: Decimal | null;

  @Field(() => DecimalScalar, { nullable: true })
  allowance?: Decimal | null;

  @Field(() => DecimalScalar, { nullable: true })
  topUpAmount?: Decimal | null;

  @Field(() => DecimalScalar, { nullable: true })
  topUpTarget?: Decimal | null;

  @Field(() => Boolean, { nullable: true })
  enabled?: boolean | null;
}

@InputType()
export class DeleteAlertDefinitionInput {
  @Field(() => ID)
  id!: string;
}

@ObjectType('AlertState')
export class AlertStateObject {
  @Field(() => Int, { description: 'The level crossed: -1 none, 0 the threshold, n the n-th step beyond it.' })
  level!: number;

  @Field(() => DecimalScalar, { nullable: true, description: 'The value when the level last changed.' })
  value!: string | null;

  @Field(() => Date, { nullable: true })
  periodStart!: Date | null;
}

@ObjectType('AlertDefinition', { implements: Node })
export class AlertDefinitionObject {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  name!: string;

  @Field(() => ID, { nullable: true, description: 'Null for a default for new wallets.' })
  customerId!: string | null;

  @Field(() => ID, { nullable: true })
  walletId!: string | null;

  @Field(() => String, { nullable: true })
  currency!: string | null;

  @Field(() => AlertMetric)
  metric!: AlertMetric;

  @Field(() => String, { nullable: true })
  meterCode!: string | null;

  @Field(() => AlertDirection)
  direction!: AlertDirection;

  @Field(() => DecimalScalar)
  threshold!: string;

  @Field(() => DecimalScalar, { nullable: true })
  every!: string | null;

  @Field(() => DecimalScalar, { nullable: true })
  allowance!: string | null;

  @Field(() => DecimalScalar, { nullable: true })
  topUpAmount!: string | null;

  @Field(() => DecimalScalar, { nullable: true })
  topUpTarget!: string | null;

  @Field(() => Boolean)
  enabled!: boolean;

  @Field(() => Boolean)
  defaultForNewWallets!: boolean;

  @Field(() => RechargeFailurePolicy, { nullable: true, description: "Set on a wallet's auto-recharge (setWalletAutoRecharge), which only that mutation changes." })
  rechargeOnFailure!: RechargeFailurePolicy | null;

  @Field(() => AlertStateObject, { nullable: true })
  state!: AlertStateObject | null;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date)
  updatedAt!: Date;
}

export const toAlertDefinitionObject = (d: AlertDefinition): AlertDefinitionObject => ({ ...d, defaultForNewWallets: d.customerId === null });

@ObjectType()
export class CreateAlertDefinitionPayload {
  @Field(() => AlertDefinitionObject)
  definition!: AlertDefinitionObject;

  @Field(() => [AlertObject], { description: 'Alerts recorded at once because the value is already across the threshold.' })
  fired!: AlertObject[];
}

@ObjectType()
export class UpdateAlertDefinitionPayload {
  @Field(() => AlertDefinitionObject)
  definition!: AlertDefinitionObject;

  @Field(() => [AlertObject])
  fired!: AlertObject[];
}

@ObjectType()
export class DeleteAlertDefinitionPayload {
  @Field(() => ID)
  id!: string;
}

@InputType({ description: "Sets a wallet's auto-recharge (one per wallet); setting it again replaces it and checks the threshold at once." })
export class SetWalletAutoRechargeInput {
  @Field(() => ID)
  walletId!: string;

  @Field(() => Boolean, { nullable: true, defaultValue: true, description: 'false keeps the settings and stops recharging.' })
  enabled?: boolean | null;

  @Field(() => DecimalScalar, { description: 'Recharge when the available balance falls below this.' })
  threshold!: Decimal;

  @Field(() => DecimalScalar, { nullable: true, description: 'Charge this fixed amount (whole minor units of the currency). Give amount or target.' })
  amount?: Decimal | null;

  @Field(() => DecimalScalar, { nullable: true, description: 'Charge what brings the available balance up to this (above the threshold).' })
  target?: Decimal | null;

  @Field(() => RechargeFailurePolicy, { nullable: true, defaultValue: RechargeFailurePolicy.NONE })
  onFailure?: RechargeFailurePolicy | null;
}

@ObjectType()
export class SetWalletAutoRechargePayload {
  @Field(() => WalletAutoRechargeObject)
  autoRecharge!: WalletAutoRechargeObject;

  @Field(() => [AlertObject], { description: 'With MANUAL collection: the request recorded at once when the available balance is already below the threshold.' })
  fired!: AlertObject[];
}
