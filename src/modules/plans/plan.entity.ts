import { ArrayType, EntitySchema } from '@mikro-orm/core';

export const BillingInterval = {
  WEEKLY: 'WEEKLY',
  MONTHLY: 'MONTHLY',
  QUARTERLY: 'QUARTERLY',
  YEARLY: 'YEARLY',
} as const;
export type BillingInterval = (typeof BillingInterval)[keyof typeof BillingInterval];

/** What an invoice left uncollectible does to the customer: suspend its usage, or nothing. */
export const DunningPolicy = { SUSPEND: 'SUSPEND', NONE: 'NONE' } as const;
export type DunningPolicy = (typeof DunningPolicy)[keyof typeof DunningPolicy];

/**
 * One version of a plan. Versions are immutable (the database refuses updates); a change is a
 * new row with the next version number, and subscriptions keep pointing at the one they chose.
 */
export class Plan {
  id!: string;
  code!: string;
  version!: number;
  name!: string;
  description!: string | null;
  currency!: string;
  billingInterval!: BillingInterval;
  /** Decimal string in the plan's currency. */
  baseFee!: string;
  /** Tax rate its invoices apply unless the customer names one. */
  taxRateCode!: string | null;
  /** Days after an invoice's first failed payment on which retries are due; null: DUNNING_RETRY_DAYS. */
  dunningRetryDays!: number[] | null;
  dunningPolicy!: DunningPolicy;
  createdAt!: Date;
}

/** Ties a meter to the rule set that prices it within one plan version. */
export class PlanCharge {
  id!: string;
  planId!: string;
  meterId!: string;
  ruleSetKey!: string;
  displayName!: string | null;
  /** Dimensions the invoice groups this meter's usage by, e.g. ["model", "tokenType"]. */
  groupBy!: string[];
  position!: number;
}

export const PlanSchema = new EntitySchema<Plan>({
  class: Plan,
  tableName: 'plan',
  properties: {
    id: { type: 'uuid', primary: true },
    code: { type: 'string', length: 64 },
    version: { type: 'integer' },
    name: { type: 'string', length: 200 },
    description: { type: 'string', length: 2000, nullable: true },
    currency: { type: 'string', length: 32 },
    billingInterval: { type: 'string', length: 16 },
    baseFee: { type: 'decimal', precision: 30, scale: 9 },
    taxRateCode: { type: 'string', length: 64, nullable: true },
    dunningRetryDays: { type: new ArrayType((i) => Number(i)), columnType: 'int[]', nullable: true },
    dunningPolicy: { type: 'string', length: 16 },
    createdAt: { type: 'Date', columnType: 'timestamptz' },
  },
});

export const PlanChargeSchema = new EntitySchema<PlanCharge>({
  class: PlanCharge,
  tableName: 'plan_charge',
  properties: {
    id: { type: 'uuid', primary: true },
    planId: { type: 'uuid' },
    meterId: { type: 'uuid' },
    ruleSetKey: { type: 'string', length: 64 },
    displayName: { type: 'string', length: 200, nullable: true },
    groupBy: { type: 'string[]', columnType: 'text[]' },
    position: { type: 'integer' },
  },
});
