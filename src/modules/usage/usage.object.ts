import { GraphQLJSONObject } from 'graphql-scalars';
import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { Node } from '../../graphql/node.js';
import { DecimalScalar } from '../../graphql/scalars/decimal.scalar.js';
import { formatLedgerUnits } from '../../shared/money/units.js';
import type { StoredLine, UsageEventRecord } from './usage-event.record.js';
import type { UsageOutcome } from './usage-outcomes.pure.js';

export const UsageResultStatus = { ACCEPTED: 'ACCEPTED', REFUSED: 'REFUSED', ERROR: 'ERROR', NOT_CHARGED: 'NOT_CHARGED' } as const;
registerEnumType(UsageResultStatus, {
  name: 'UsageResultStatus',
  valuesConfig: {
    ACCEPTED: { description: 'Charged and durable.' },
    REFUSED: { description: 'Refused by a wallet, a spending cap or a pricing rule; nothing charged.' },
    ERROR: { description: 'The event itself is wrong or could not be processed; nothing charged.' },
    NOT_CHARGED: { description: 'Part of an atomic batch in which another event failed.' },
  },
});

/** The rule-set version that priced an event, a preview or an invoice's usage. */
@ObjectType('RuleSetRef')
export class RuleSetRefObject {
  @Field(() => String)
  key!: string;

  @Field(() => Int)
  version!: number;

  @Field(() => String)
  hash!: string;
}

/** One tier's share of a priced line. */
@ObjectType('TierPart')
export class TierPartObject {
  @Field(() => Int)
  tier!: number;

  @Field(() => DecimalScalar)
  quantity!: string;

  @Field(() => DecimalScalar)
  unitPrice!: string;

  @Field(() => DecimalScalar)
  flatFee!: string;

  @Field(() => DecimalScalar)
  amount!: string;
}

@ObjectType('FieldError')
export class FieldErrorObject {
  @Field(() => String)
  path!: string;

  @Field(() => String)
  message!: string;
}

@ObjectType('UsageRefusal', { description: 'Why an event was not charged.' })
export class UsageRefusalObject {
  @Field(() => String, { description: 'WALLET_INSUFFICIENT_FUNDS, SPENDING_LIMIT_REACHED, RULE_REFUSED, UNPRICED_EVENT, ACCOUNT_SUSPENDED, or an error code.' })
  code!: string;

  @Field(() => String)
  message!: string;

  @Field(() => String, { nullable: true, description: "The pricing rule's own code (with RULE_REFUSED)." })
  ruleCode!: string | null;

  @Field(() => DecimalScalar, { nullable: true, description: 'Available balance (with WALLET_INSUFFICIENT_FUNDS).' })
  available!: string | null;

  @Field(() => [FieldErrorObject], { description: 'Input problems (with VALIDATION_FAILED).' })
  fields!: FieldErrorObject[];
}

@ObjectType('UsageLine')
export class UsageLineObject {
  @Field(() => String)
  componentId!: string;

  @Field(() => String)
  model!: string;

  @Field(() => String, { nullable: true })
  description!: string | null;

  @Field(() => DecimalScalar)
  quantity!: string;

  @Field(() => DecimalScalar, { description: 'Exact amount.' })
  amount!: string;

  @Field(() => DecimalScalar, { description: 'Charged now, at the ledger scale.' })
  charged!: string;

  @Field(() => [TierPartObject])
  tiers!: TierPartObject[];

  @Field(() => [String])
  adjustments!: string[];

  @Field(() => Boolean)
  provisional!: boolean;
}

@ObjectType('UsageEvent', { implements: Node })
export class UsageEventObject {
  @Field(() => ID)
  id!: string;

  @Field(() => ID)
  customerId!: string;

  @Field(() => String)
  meterCode!: string;

  @Field(() => DecimalScalar)
  quantity!: string;

  @Field(() => Date, { description: 'When the usage happened (its `timestamp` when recorded): it picks the rule-set version and the billing period.' })
  timestamp!: Date;

  @Field(() => String, { description: 'The idempotency key it was recorded under, unique per customer.' })
  idempotencyKey!: string;

  @Field(() => GraphQLJSONObject)
  dimensions!: Record<string, string>;

  @Field(() => GraphQLJSONObject)
  values!: Record<string, string>;

  @Field(() => String)
  currency!: string;

  @Field(() => DecimalScalar, { description: 'Exact amount.' })
  amount!: string;

  @Field(() => DecimalScalar, { description: 'What the event was charged, at the ledger scale (1e-9).' })
  charged!: string;

  @Field(() => RuleSetRefObject)
  ruleSet!: RuleSetRefObject;

  @Field(() => [String])
  firedRules!: string[];

  @Field(() => [UsageLineObject])
  lines!: UsageLineObject[];

  @Field(() => ID, { nullable: true })
  walletId!: string | null;

  @Field(() => Boolean, { description: 'The event took a SOFT-limit wallet below zero.' })
  softLimitExceeded!: boolean;

  @Field(() => Date, { description: 'Start of the billing period it counts in.' })
  periodStart!: Date;

  @Field(() => ID, { nullable: true })
  reservationId!: string | null;

  @Field(() => Date)
  recordedAt!: Date;
}

@ObjectType('UsageWallet')
export class UsageWalletObject {
  @Field(() => ID)
  id!: string;

  @Field(() => DecimalScalar, { description: 'Balance right after this event.' })
  balance!: string;

  @Field(() => DecimalScalar, { nullable: true, description: 'Available balance right after its hold.' })
  available!: string | null;
}

@ObjectType('UsageResult')
export class UsageResultObject {
  @Field(() => Int)
  index!: number;

  @Field(() => UsageResultStatus)
  status!: keyof typeof UsageResultStatus;

  @Field(() => Boolean)
  replayed!: boolean;

  @Field(() => UsageRefusalObject, { nullable: true })
  refusal!: UsageRefusalObject | null;

  @Field(() => UsageEventObject, { nullable: true })
  event!: UsageEventObject | null;
}

const toLine = (l: StoredLine): UsageLineObject => ({
  componentId: l.c,
  model: l.m,
  description: l.d,
  quantity: l.q,
  amount: l.a,
  charged: formatLedgerUnits(l.u),
  tiers: l.t.map(([tier, quantity, unitPrice, flatFee, amount]) => ({ tier, quantity, unitPrice, flatFee, amount })),
  adjustments: l.adj,
  provisional: !!l.p,
});

export const toUsageEventObject = (e: UsageEventRecord): UsageEventObject => ({
  id: e.id,
  customerId: e.customerId,
  meterCode: e.meterCode,
  quantity: e.quantity,
  timestamp: e.occurredAt,
  idempotencyKey: e.idempotencyKey,
  dimensions: e.dimensions,
  values: e.values,
  currency: e.currency,
  amount: e.amount,
  charged: formatLedgerUnits(e.charged),
  ruleSet: { key: e.ruleSetKey, version: e.ruleSetVersion, hash: e.ruleSetHash },
  firedRules: e.firedRules,
  lines: e.lines.map(toLine),
  walletId: e.walletId,
  softLimitExceeded: e.softLimitExceeded,
  periodStart: e.periodStart,
  reservationId: e.reservationId,
  recordedAt: e.createdAt,
});

export function toRefusal(outcome: UsageOutcome): UsageRefusalObject | null {
  if (outcome.kind === 'refused') {
    return {
      code: outcome.code,
      message: outcome.message,
      ruleCode: (outcome.details.ruleCode as string | undefined) ?? null,
      available: (outcome.details.available as string | undefined) ?? null,
      fields: [],
    };
  }
  if (outcome.kind === 'error') {
    const fields = (outcome.error.details.fields as Array<{ path: string; message: string }> | undefined) ?? [];
    return { code: outcome.error.code, message: outcome.error.message, ruleCode: null, available: null, fields };
  }
  if (outcome.kind === 'skipped') {
    return { code: 'NOT_CHARGED', message: `not charged: event ${outcome.because} of this atomic batch failed`, ruleCode: null, available: null, fields: [] };
  }
  return null;
}

export function toUsageResult(outcome: UsageOutcome, index: number): UsageResultObject {
  const status = outcome.kind === 'accepted' ? 'ACCEPTED' : outcome.kind === 'refused' ? 'REFUSED' : outcome.kind === 'error' ? 'ERROR' : 'NOT_CHARGED';
  return {
    index,
    status,
    replayed: outcome.kind === 'accepted' && outcome.replay,
    refusal: toRefusal(outcome),
    event: outcome.kind === 'accepted' ? toUsageEventObject(outcome.event) : null,
  };
}

export function toUsageWallet(e: UsageEventRecord): UsageWalletObject | null {
  if (!e.walletId || e.balanceAfter === null) return null;
  return { id: e.walletId, balance: formatLedgerUnits(e.balanceAfter), available: e.availableAfter === null ? null : formatLedgerUnits(e.availableAfter) };
}
