import type { Orm } from '../../db/orm.js';
import type { Clock } from '../../shared/clock.js';
import { AppError, ErrorCode, notFound } from '../../shared/errors.js';
import { isUuid, newId } from '../../shared/ids.js';
import { Checker } from '../../shared/validation.js';
import type { CustomerService } from '../customers/customer.service.js';
import type { PlanService, PlanView } from '../plans/plan.service.js';
import { periodAt, type Alignment, type Period } from './billing-period.js';
import { BaseFeeTiming, Subscription, SubscriptionStatus } from './subscription.entity.js';
import { SubscriptionRepository } from './subscription.repository.js';

export interface CreateSubscriptionCommand {
  customerId: string;
  planCode: string;
  planVersion?: number | null;
  startsAt?: Date | null;
  alignment?: Alignment | null;
  trialEndsAt?: Date | null;
  baseFeeTiming?: BaseFeeTiming | null;
}

/** A subscription with its plan version, as pricing needs it. */
export interface ActivePlan {
  subscription: Subscription;
  plan: PlanView;
}

const CACHE_MS = 5_000;

/** Which plan a customer is on at an instant, and the billing period that instant falls in. */
export class SubscriptionService {
  private readonly cache = new Map<string, { at: number; subscriptions: Promise<ActivePlan[]> }>();

  constructor(
    private readonly orm: Orm,
    private readonly customers: CustomerService,
    private readonly plans: PlanService,
    private readonly clock: Clock,
  ) {}

  async create(cmd: CreateSubscriptionCommand): Promise<ActivePlan> {
    const check = new Checker();
    if (!isUuid(cmd.customerId)) check.fail('customerId', 'must be a customer id');
    if (cmd.alignment && !['CALENDAR', 'ANNIVERSARY'].includes(cmd.alignment)) check.fail('alignment', 'must be CALENDAR or ANNIVERSARY');
    check.done();
    const customer = await this.customers.get({ id: cmd.customerId });
    const plan = await this.plans.find(cmd.planCode, cmd.planVersion);
    if (!plan) throw notFound('plan', cmd.planCode);
    const startsAt = cmd.startsAt ?? this.clock.now();
    if (cmd.trialEndsAt && cmd.trialEndsAt.getTime() <= startsAt.getTime()) check.fail('trialEndsAt', 'must be after startsAt');
    if (plan.plan.currency !== customer.currency) check.fail('planCode', `the plan is in ${plan.plan.currency}; the customer is billed in ${customer.currency}`);
    check.done();
    const existing = await this.forCustomer(customer.id, true);
    if (existing.some((s) => !s.subscription.endsAt || s.subscription.endsAt.getTime() > startsAt.getTime())) {
      throw new AppError(ErrorCode.CONFLICT, 'the customer already has a subscription at that date; change or cancel it instead');
    }
    const now = this.clock.now();
    const subscription = Object.assign(new Subscription(), {
      id: newId(now.getTime()),
      customerId: customer.id,
      planId: plan.plan.id,
      status: SubscriptionStatus.ACTIVE,
      alignment: cmd.alignment ?? 'CALENDAR',
      startsAt,
      endsAt: null,
      trialEndsAt: cmd.trialEndsAt ?? null,
      baseFeeTiming: cmd.baseFeeTiming ?? BaseFeeTiming.ADVANCE,
      createdAt: now,
      updatedAt: now,
    });
    await new SubscriptionRepository(this.orm.em.fork()).insert(subscription);
    this.cache.delete(customer.id);
    return { subscription, plan };
  }

  /** Every subscription of a customer with its plan version, oldest first (cached briefly). */
  async forCustomer(customerId: string, fresh = false): Promise<ActivePlan[]> {
    const hit = this.cache.get(customerId);
    const now = Date.now();
    if (!fresh && hit && now - hit.at < CACHE_MS) return hit.subscriptions;
    // The pending promise is cached, so a burst of events for one customer makes one query.
    const loading = (async () => {
      const subscriptions = await new SubscriptionRepository(this.orm.em.fork()).forCustomer(customerId);
      return Promise.all(subscriptions.map(async (subscription) => ({ subscription, plan: (await this.plans.findById(subscription.planId))! })));
    })();
    this.cache.set(customerId, { at: now, subscriptions: loading });
    loading.catch(() => this.cache.delete(customerId));
    return loading;
  }

  /** The subscription in force at `at`, or undefined. */
  async activeAt(customerId: string, at: Date): Promise<ActivePlan | undefined> {
    const t = at.getTime();
    return (await this.forCustomer(customerId)).find((s) => s.subscription.startsAt.getTime() <= t && (!s.subscription.endsAt || s.subscription.endsAt.getTime() > t));
  }

  /** The billing period of `at`: the subscription's, or the calendar month in the customer's zone without one. */
  periodOf(active: ActivePlan | undefined, timeZone: string, at: Date): Period {
    if (!active) return periodAt('MONTHLY', 'CALENDAR', at, timeZone, at);
    return periodAt(active.plan.plan.billingInterval, active.subscription.alignment, active.subscription.startsAt, timeZone, at);
  }

  /** Forgets cached subscriptions (after a change). */
  invalidate(customerId: string): void {
    this.cache.delete(customerId);
  }
}
