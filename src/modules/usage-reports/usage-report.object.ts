import { GraphQLSafeInt } from 'graphql-scalars';
import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { DecimalScalar } from '../../graphql/scalars/decimal.scalar.js';
import { formatDecimal } from '../../shared/money/decimal.js';
import { formatLedgerUnits } from '../../shared/money/units.js';
import { Aggregation } from '../meters/index.js';
import { toWalletObject, WalletObject } from '../wallets/index.js';
import { Granularity } from './usage-buckets.pure.js';
import { percentOf, type CurrentPeriodView, type UsageGroup, type UsageReport, type UsageSums, type WalletStanding } from './usage-report.service.js';

registerEnumType(Granularity, {
  name: 'UsageGranularity',
  valuesConfig: {
    HOUR: { description: "An hour of the customer's wall clock." },
    DAY: { description: "A day in the customer's time zone, midnight to midnight." },
    MONTH: { description: "A calendar month in the customer's time zone." },
  },
});

@ObjectType('UsageSums', { description: 'Committed usage: what the events were priced at and charged, and how many there were.' })
export class UsageSumsObject {
  @Field(() => String)
  currency!: string;

  @Field(() => DecimalScalar, { description: 'The exact priced amount (sum of the events\' amounts).' })
  amount!: string;

  @Field(() => DecimalScalar, { description: 'What was charged (sum of the events\' charges, 1e-9 of the currency): what the ledger moved.' })
  charged!: string;

  @Field(() => GraphQLSafeInt, { description: 'Number of events: an integer, exact up to 2^53 − 1 (more than 32 bits).' })
  events!: number;
}

@ObjectType('UsageDimensionValue')
export class UsageDimensionValueObject {
  @Field(() => String)
  key!: string;

  @Field(() => String, { nullable: true, description: 'Null: the events carried no such dimension.' })
  value!: string | null;
}

@ObjectType('UsageGroup')
export class UsageGroupObject extends UsageSumsObject {
  @Field(() => String, { nullable: true, description: 'The meter; null when the group holds several (not grouped by meter).' })
  meterCode!: string | null;

  @Field(() => Aggregation, { nullable: true })
  aggregation!: Aggregation | null;

  @Field(() => [UsageDimensionValueObject], { description: 'The values of the grouped dimensions, in the order asked.' })
  dimensions!: UsageDimensionValueObject[];

  @Field(() => DecimalScalar, {
    nullable: true,
    description:
      "The meter's aggregate over the bucket: COUNT events, SUM total, MAX largest, UNIQUE_COUNT distinct values of its property, LATEST the latest event's quantity, RECURRING the level its latest event set (the level at the bucket's end). Null when the group holds several meters.",
  })
  quantity!: string | null;
}

@ObjectType('UsageBucket')
export class UsageBucketObject {
  @Field(() => Date)
  start!: Date;

  @Field(() => Date)
  end!: Date;

  @Field(() => [UsageGroupObject], { description: 'Empty when nothing was used.' })
  groups!: UsageGroupObject[];
}

@ObjectType('UsageReport')
export class UsageReportObject {
  @Field(() => ID)
  customerId!: string;

  @Field(() => String, { description: 'The time zone the buckets follow (the customer\'s).' })
  timezone!: string;

  @Field(() => Date)
  from!: Date;

  @Field(() => Date)
  to!: Date;

  @Field(() => Granularity)
  granularity!: Granularity;

  @Field(() => [UsageBucketObject], { description: 'Every bucket touching [from, to), in order; the first and last may extend beyond it, but count only usage inside it.' })
  buckets!: UsageBucketObject[];

  @Field(() => [UsageSumsObject], { description: 'Per currency, over [from, to).' })
  totals!: UsageSumsObject[];
}

@ObjectType('PeriodSpend')
export class PeriodSpendObject extends UsageSumsObject {
  @Field(() => DecimalScalar, { description: 'Projected charge at the end of the period: linear extrapolation of the charge so far (see the README).' })
  projected!: string;
}

@ObjectType('SpendingCapUse')
export class SpendingCapUseObject {
  @Field(() => String)
  currency!: string;

  @Field(() => DecimalScalar)
  cap!: string;

  @Field(() => DecimalScalar, { description: 'Charged this period in the customer\'s currency.' })
  used!: string;

  @Field(() => DecimalScalar, { description: 'What the cap still allows (never below zero).' })
  remaining!: string;

  @Field(() => DecimalScalar, { nullable: true, description: 'used as a percent of cap, to two decimals; null for a zero cap.' })
  percentUsed!: string | null;
}

@ObjectType('WalletStanding')
export class WalletStandingObject {
  @Field(() => WalletObject)
  wallet!: WalletObject;

  @Field(() => DecimalScalar, { nullable: true, description: 'The lowest balance allowed: 0 (HARD), -overdraftLimit (OVERDRAFT); null for SOFT (no floor).' })
  floor!: string | null;

  @Field(() => DecimalScalar, { nullable: true, description: 'available - floor: what more usage may spend now; null for SOFT.' })
  headroom!: string | null;

  @Field(() => DecimalScalar, { nullable: true, description: 'OVERDRAFT wallets: how much of the overdraft the balance uses.' })
  overdraftUsed!: string | null;

  @Field(() => DecimalScalar, { nullable: true, description: 'overdraftUsed as a percent of overdraftLimit, to two decimals.' })
  overdraftUsedPercent!: string | null;
}

@ObjectType('ModelSpend')
export class ModelSpendObject extends UsageSumsObject {
  @Field(() => String, { description: 'The value of the "model" dimension.' })
  model!: string;
}

@ObjectType('CurrentPeriod')
export class CurrentPeriodObject {
  @Field(() => ID)
  customerId!: string;

  @Field(() => String)
  timezone!: string;

  @Field(() => String, { nullable: true, description: 'The plan in force; null without a subscription (periods are then calendar months).' })
  planCode!: string | null;

  @Field(() => Date)
  start!: Date;

  @Field(() => Date)
  end!: Date;

  @Field(() => Date, { description: 'When the figures were read.' })
  asOf!: Date;

  @Field(() => DecimalScalar, { description: 'Share of the period elapsed, 0 to 1.' })
  elapsed!: string;

  @Field(() => [PeriodSpendObject], { description: "Spend so far per currency (the customer's currency always first), as the spending cap and alerts count it." })
  spend!: PeriodSpendObject[];

  @Field(() => SpendingCapUseObject, { nullable: true, description: 'Null without a spending cap.' })
  spendingCap!: SpendingCapUseObject | null;

  @Field(() => [WalletStandingObject])
  wallets!: WalletStandingObject[];

  @Field(() => [ModelSpendObject], { description: 'Models by charge this period, highest first (currencies are not converted).' })
  topModels!: ModelSpendObject[];
}

const units = (v: bigint | null): string | null => (v === null ? null : formatLedgerUnits(v));

export const toUsageSumsObject = (s: UsageSums): UsageSumsObject => ({
  currency: s.currency,
  amount: formatDecimal(s.amount),
  charged: formatLedgerUnits(s.charged),
  events: countOf(s.events),
});

/** A count as a JSON number: exact below 2^53, which no count of events reaches. */
function countOf(n: bigint): number {
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`a count of ${n} exceeds 2^53 - 1`);
  return Number(n);
}

const toUsageGroupObject = (g: UsageGroup): UsageGroupObject => ({
  ...toUsageSumsObject(g),
  meterCode: g.meterCode,
  aggregation: g.aggregation,
  dimensions: g.dimensions,
  quantity: g.quantity && formatDecimal(g.quantity),
});

export const toUsageReportObject = (r: UsageReport): UsageReportObject => ({
  customerId: r.customer.id,
  timezone: r.customer.timezone,
  from: r.from,
  to: r.to,
  granularity: r.granularity,
  buckets: r.buckets.map((b) => ({ start: b.start, end: b.end, groups: b.groups.map(toUsageGroupObject) })),
  totals: r.totals.map(toUsageSumsObject),
});

const toWalletStandingObject = (s: WalletStanding): WalletStandingObject => {
  const percent = s.overdraftUsed === null ? null : percentOf(s.overdraftUsed, s.wallet.overdraftLimit);
  return {
    wallet: toWalletObject(s.wallet, s.held),
    floor: units(s.floor),
    headroom: units(s.headroom),
    overdraftUsed: units(s.overdraftUsed),
    overdraftUsedPercent: percent && formatDecimal(percent),
  };
};

export const toCurrentPeriodObject = (v: CurrentPeriodView): CurrentPeriodObject => {
  const cap = v.spendingCap;
  const capPercent = cap && percentOf(cap.used, cap.cap);
  return {
    customerId: v.customer.id,
    timezone: v.customer.timezone,
    planCode: v.planCode,
    start: v.period.start,
    end: v.period.end,
    asOf: v.asOf,
    elapsed: formatDecimal(v.elapsed),
    spend: v.spend.map((s) => ({ ...toUsageSumsObject(s), projected: formatDecimal(s.projected) })),
    spendingCap: cap && {
      currency: cap.currency,
      cap: formatLedgerUnits(cap.cap),
      used: formatLedgerUnits(cap.used),
      remaining: formatLedgerUnits(cap.cap > cap.used ? cap.cap - cap.used : 0n),
      percentUsed: capPercent && formatDecimal(capPercent),
    },
    wallets: v.wallets.map(toWalletStandingObject),
    topModels: v.topModels.map((m) => ({ ...toUsageSumsObject(m), model: m.model })),
  };
};
