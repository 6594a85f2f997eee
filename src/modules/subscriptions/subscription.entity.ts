import { EntitySchema } from '@mikro-orm/core';
import type { Alignment } from './billing-period.pure.js';

export const SubscriptionStatus = { ACTIVE: 'ACTIVE', CANCELED: 'CANCELED', ENDED: 'ENDED' } as const;
export type SubscriptionStatus = (typeof SubscriptionStatus)[keyof typeof SubscriptionStatus];

export const BaseFeeTiming = { ADVANCE: 'ADVANCE', ARREARS: 'ARREARS' } as const;
export type BaseFeeTiming = (typeof BaseFeeTiming)[keyof typeof BaseFeeTiming];

/** A customer on one plan version from `startsAt` until `endsAt` (open when null). */
export class Subscription {
  id!: string;
  customerId!: string;
  planId!: string;
  status!: SubscriptionStatus;
  alignment!: Alignment;
  startsAt!: Date;
  endsAt!: Date | null;
  /** The instant anniversary periods count from; a plan change keeps its predecessor's. */
  billingAnchor!: Date;
  /** CALENDAR monthly, quarterly and yearly periods start on this day of the month (1-31, clamped to short months); the 1st when null. */
  billingDay!: number | null;
  cancelAtPeriodEnd!: boolean;
  canceledAt!: Date | null;
  /** The subscription this one took over from on a plan change. */
  replacesSubscriptionId!: string | null;
  trialEndsAt!: Date | null;
  baseFeeTiming!: BaseFeeTiming;
  createdAt!: Date;
  updatedAt!: Date;
}

export const SubscriptionSchema = new EntitySchema<Subscription>({
  class: Subscription,
  tableName: 'subscription',
  properties: {
    id: { type: 'uuid', primary: true },
    customerId: { type: 'uuid' },
    planId: { type: 'uuid' },
    status: { type: 'string', length: 16 },
    alignment: { type: 'string', length: 16 },
    startsAt: { type: 'Date', columnType: 'timestamptz' },
    endsAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
    billingAnchor: { type: 'Date', columnType: 'timestamptz' },
    billingDay: { type: 'smallint', nullable: true },
    cancelAtPeriodEnd: { type: 'boolean' },
    canceledAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
    replacesSubscriptionId: { type: 'uuid', nullable: true },
    trialEndsAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
    baseFeeTiming: { type: 'string', length: 16 },
    createdAt: { type: 'Date', columnType: 'timestamptz' },
    updatedAt: { type: 'Date', columnType: 'timestamptz' },
  },
});
