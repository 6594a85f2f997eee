import { Decimal } from '../../shared/money/decimal.js';
import type { PlanView } from '../plans/index.js';
import { periodAt, type Period } from '../subscriptions/billing-period.pure.js';
import type { FeeSegment } from './base-fees.pure.js';
import type { SubscriptionRow } from './invoice.repository.js';
import type { ChargeInfo } from './usage-items.pure.js';

export interface TimelineSubscription extends SubscriptionRow {
  plan: PlanView;
}

const FAR = new Date('9999-12-31T00:00:00Z');
const endOf = (s: SubscriptionRow): Date => s.endsAt ?? FAR;

/**
 * A customer's subscriptions laid out over billing periods (pure). Periods are those of the
 * subscription in force, counted from its billing anchor in the customer's time zone, exactly as
 * usage events were stamped when they were recorded.
 */
export class BillingTimeline {
  constructor(
    readonly subscriptions: TimelineSubscription[],
    readonly timeZone: string,
  ) {}

  periodOf(s: TimelineSubscription, at: Date): Period {
    return periodAt(s.plan.plan.billingInterval, s.alignment, s.billingAnchor, this.timeZone, at, s.billingDay ?? null);
  }

  /** Every period some subscription was in force in that ended by `at`, oldest first. */
  periodsEndedBy(at: Date): Period[] {
    const seen = new Map<number, Period>();
    for (const s of this.subscriptions) {
      let p = this.periodOf(s, s.startsAt);
      while (p.start.getTime() < endOf(s).getTime() && p.end.getTime() <= at.getTime()) {
        if (!seen.has(p.start.getTime())) seen.set(p.start.getTime(), p);
        p = this.periodOf(s, p.end);
      }
    }
    return [...seen.values()].sort((a, b) => a.start.getTime() - b.start.getTime());
  }

  /** The subscriptions in force during a period, each clipped to it. */
  segments(p: Period): FeeSegment[] {
    return this.subscriptions
      .filter((s) => s.startsAt.getTime() < p.end.getTime() && endOf(s).getTime() > p.start.getTime())
      .map((s) => ({
        subscriptionId: s.id,
        planName: s.plan.plan.name,
        planCode: s.plan.plan.code,
        planVersion: s.plan.plan.version,
        baseFee: new Decimal(s.plan.plan.baseFee),
        timing: s.baseFeeTiming,
        start: new Date(Math.max(s.startsAt.getTime(), p.start.getTime())),
        end: new Date(Math.min(endOf(s).getTime(), p.end.getTime())),
        trialEndsAt: s.trialEndsAt,
      }))
      .filter((seg) => seg.end.getTime() > seg.start.getTime());
  }

  /** The subscription in force at an instant. */
  at(at: Date): TimelineSubscription | undefined {
    return this.subscriptions.find((s) => s.startsAt.getTime() <= at.getTime() && endOf(s).getTime() > at.getTime());
  }

  /** The period after p, as the subscription in force at its start counts it (undefined if none). */
  next(p: Period): Period | undefined {
    const s = this.at(p.end);
    return s ? this.periodOf(s, p.end) : undefined;
  }

  /** The plan charges of the subscriptions in force during a period, first plan first. */
  charges(p: Period): ChargeInfo[] {
    const ids = new Set(this.segments(p).map((s) => s.subscriptionId));
    const out: ChargeInfo[] = [];
    for (const s of this.subscriptions.filter((x) => ids.has(x.id))) {
      for (const { charge, meter } of s.plan.charges) {
        if (out.some((c) => c.meterCode === meter.code && c.ruleSetKey === charge.ruleSetKey)) continue;
        out.push({ meterCode: meter.code, meterName: meter.name, aggregation: meter.aggregation, ruleSetKey: charge.ruleSetKey, displayName: charge.displayName, groupBy: charge.groupBy });
      }
    }
    return out;
  }

  /** Dimensions each meter's usage is presented by in a period (the union over the plans in force). */
  groupBy(p: Period): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const c of this.charges(p)) out[c.meterCode] = [...new Set([...(out[c.meterCode] ?? []), ...c.groupBy])];
    return out;
  }

  /** The next instant after `at` when a period ends or a subscription starts (when a close may be due). */
  nextBoundary(at: Date): number {
    let next = Number.POSITIVE_INFINITY;
    for (const s of this.subscriptions) {
      if (s.startsAt.getTime() > at.getTime()) next = Math.min(next, s.startsAt.getTime());
      else if (endOf(s).getTime() > at.getTime()) next = Math.min(next, this.periodOf(s, at).end.getTime());
    }
    return next;
  }

  /** First subscriptions of a chain (not plan changes) that bill their base fee in advance. */
  advanceStarts(at: Date): TimelineSubscription[] {
    return this.subscriptions.filter((s) => !s.replacesSubscriptionId && s.baseFeeTiming === 'ADVANCE' && s.startsAt.getTime() <= at.getTime());
  }
}
