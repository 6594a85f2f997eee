import { LRUCache } from 'lru-cache';
import type { Orm } from '../../db/orm.js';
import { invalidCursor, type Page, type PageRequest } from '../../graphql/pagination.js';
import { AppError, ErrorCode, notFound, ValidationError } from '../../shared/errors.js';
import { Decimal } from '../../shared/money/decimal.js';
import { isUuid, newId } from '../../shared/ids.js';
import { Checker } from '../../shared/validation.js';
import type { CustomerService } from '../customers/index.js';
import type { BillingInterval, PlanService, PlanView } from '../plans/index.js';
import { webhookEventId, WebhookTopic, type SubscriptionEventSubscription } from '../webhooks/index.js';
import { periodAt, type Alignment, type Period } from './billing-period.pure.js';
import { BaseFeeTiming, Subscription, SubscriptionStatus } from './subscription.entity.js';
import { SubscriptionRepository } from './subscription.repository.js';

export type ChangeTiming = 'IMMEDIATE' | 'PERIOD_END';

export interface ChangePlanCommand {
  subscriptionId: string;
  planCode: string;
  planVersion?: number | null;
  timing?: ChangeTiming | null;
}

export interface CancelSubscriptionCommand {
  subscriptionId: string;
  timing: ChangeTiming;
}

export interface CreateSubscriptionCommand {
  customerId: string;
  planCode: string;
  planVersion?: number | null;
  startsAt?: Date | null;
  alignment?: Alignment | null;
  billingDay?: number | null;
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
/** What a subscription's periods follow, as the subscription's GraphQL object carries it (no second read). */
export interface PeriodTerms {
  customerId: string;
  startsAt: Date;
  endsAt: Date | null;
  billingInterval: BillingInterval;
  alignment: Subscription['alignment'];
  billingAnchor: Date;
  billingDay: number | null;
}

export class SubscriptionService {
  /**
   * Each customer's subscriptions, read for every event: fresh for CACHE_MS, then still answering
   * while one background load replaces them (lru-cache's stale-while-revalidate), so no event
   * waits on a reload and a burst of misses makes one query. Changes made here drop the entry.
   */
  private readonly cache = new LRUCache<string, ActivePlan[]>({
    max: 50_000,
    ttl: CACHE_MS,
    allowStale: true,
    fetchMethod: (customerId) => this.load(customerId),
  });

  constructor(
    private readonly orm: Orm,
    private readonly customers: CustomerService,
    private readonly plans: PlanService,
  ) {}

  async create(cmd: CreateSubscriptionCommand): Promise<ActivePlan> {
    const check = new Checker();
    if (!isUuid(cmd.customerId)) check.fail('customerId', 'must be a customer id');
    if (cmd.alignment && !['CALENDAR', 'ANNIVERSARY'].includes(cmd.alignment)) check.fail('alignment', 'must be CALENDAR or ANNIVERSARY');
    check.done();
    const customer = await this.customers.get({ id: cmd.customerId });
    const plan = await this.plans.find(cmd.planCode, cmd.planVersion);
    if (!plan) throw notFound('plan', cmd.planCode);
    // A customer on a test clock subscribes at the clock's time.
    const now = await this.customers.nowOf(customer);
    const startsAt = cmd.startsAt ?? now;
    if (cmd.trialEndsAt && cmd.trialEndsAt.getTime() <= startsAt.getTime()) check.fail('trialEndsAt', 'must be after startsAt');
    if (plan.plan.currency !== customer.currency) check.fail('planCode', `the plan is in ${plan.plan.currency}; the customer is billed in ${customer.currency}`);
    const billingDay = cmd.billingDay ?? null;
    if (billingDay !== null) {
      if (!Number.isInteger(billingDay) || billingDay < 1 || billingDay > 31) check.fail('billingDay', 'must be a day of the month, 1 to 31');
      else if ((cmd.alignment ?? 'CALENDAR') !== 'CALENDAR') check.fail('billingDay', 'applies to CALENDAR alignment only: ANNIVERSARY periods start on the start day');
      else if (plan.plan.billingInterval === 'WEEKLY') check.fail('billingDay', 'applies to monthly, quarterly and yearly plans, not weekly ones');
    }
    check.done();
    const existing = await this.forCustomer(customer.id, true);
    if (existing.some((s) => !s.subscription.endsAt || s.subscription.endsAt.getTime() > startsAt.getTime())) {
      throw new AppError(ErrorCode.CONFLICT, 'the customer already has a subscription at that date; change or cancel it instead');
    }
    const subscription = Object.assign(new Subscription(), {
      id: newId(now.getTime()),
      customerId: customer.id,
      planId: plan.plan.id,
      status: SubscriptionStatus.ACTIVE,
      alignment: cmd.alignment ?? 'CALENDAR',
      startsAt,
      endsAt: null,
      billingAnchor: startsAt,
      billingDay,
      cancelAtPeriodEnd: false,
      canceledAt: null,
      replacesSubscriptionId: null,
      trialEndsAt: cmd.trialEndsAt ?? null,
      baseFeeTiming: cmd.baseFeeTiming ?? BaseFeeTiming.ADVANCE,
      createdAt: now,
      updatedAt: now,
    });
    await new SubscriptionRepository(this.orm).insert(subscription, {
      topic: WebhookTopic.SUBSCRIPTION_CREATED,
      eventId: webhookEventId(WebhookTopic.SUBSCRIPTION_CREATED, subscription.id),
      data: { subscription: eventSubscription(subscription, plan) },
      at: now,
    });
    this.cache.delete(customer.id);
    return { subscription, plan };
  }

  /** Every subscription of a customer with its plan version, oldest first (cached briefly). */
  async forCustomer(customerId: string, fresh = false): Promise<ActivePlan[]> {
    if (fresh) return this.load(customerId);
    return (await this.cache.fetch(customerId))!;
  }

  /**
   * A page of a customer's subscriptions with their plan versions, oldest first (by start, then
   * id), read fresh. The cursor key is `subscriptionKey`.
   */
  async pageForCustomer(customerId: string, req: PageRequest): Promise<Page<ActivePlan>> {
    if (!isUuid(customerId)) throw new ValidationError([{ path: 'customerId', message: 'must be a customer id' }]);
    const match = req.after === undefined ? null : /^(\d{1,15})\|([0-9a-f-]{36})$/.exec(req.after);
    if (req.after !== undefined && (!match || !isUuid(match[2]!))) throw invalidCursor();
    const after = match ? { startsAt: new Date(Number(match[1])), id: match[2]! } : null;
    const page = await new SubscriptionRepository(this.orm).page(customerId, after, req.first);
    return { items: await this.withPlans(page.items), hasNextPage: page.hasNextPage };
  }

  /** One subscription by id with its plan version; null for an unknown or malformed id. */
  async findById(id: string): Promise<ActivePlan | null> {
    const subscription = isUuid(id) ? await new SubscriptionRepository(this.orm).get(id) : null;
    return subscription && (await this.withPlans([subscription]))[0]!;
  }

  private withPlans(subscriptions: Subscription[]): Promise<ActivePlan[]> {
    return Promise.all(subscriptions.map(async (subscription) => ({ subscription, plan: (await this.plans.findById(subscription.planId))! })));
  }

  private async load(customerId: string): Promise<ActivePlan[]> {
    return this.withPlans(await new SubscriptionRepository(this.orm).forCustomer(customerId));
  }

  /** The subscription in force at `at`, or undefined. */
  async activeAt(customerId: string, at: Date): Promise<ActivePlan | undefined> {
    const t = at.getTime();
    return (await this.forCustomer(customerId)).find((s) => s.subscription.startsAt.getTime() <= t && (!s.subscription.endsAt || s.subscription.endsAt.getTime() > t));
  }

  /** The billing period of `at`: the subscription's, or the calendar month in the customer's zone without one. */
  periodOf(active: ActivePlan | undefined, timeZone: string, at: Date): Period {
    if (!active) return periodAt('MONTHLY', 'CALENDAR', at, timeZone, at);
    const s = active.subscription;
    return periodAt(active.plan.plan.billingInterval, s.alignment, s.billingAnchor, timeZone, at, s.billingDay);
  }

  /**
   * The billing period a subscription is in now (the customer's clock), in the customer's time
   * zone, as invoices count it (periodOf); null when it is not in force now: not started yet,
   * ended, or canceled.
   */
  async currentPeriod(s: PeriodTerms): Promise<Period | null> {
    const customer = await this.customers.get({ id: s.customerId });
    const now = await this.customers.nowOf(customer);
    if (s.startsAt.getTime() > now.getTime() || (s.endsAt && s.endsAt.getTime() <= now.getTime())) return null;
    return periodAt(s.billingInterval, s.alignment, s.billingAnchor, customer.timezone, now, s.billingDay);
  }

  /**
   * Moves a customer to another plan version. IMMEDIATE (the default for a plan with a higher base
   * fee: an upgrade) ends the current subscription now and starts the new one; PERIOD_END (the
   * default otherwise: a downgrade) schedules it for the end of the current period. The new
   * subscription keeps the billing anchor, alignment, fee timing and any trial still running, so
   * the period does not move; invoices prorate the base fees.
   */
  async changePlan(cmd: ChangePlanCommand): Promise<ActivePlan> {
    const { current, customer } = await this.current(cmd.subscriptionId);
    const plan = await this.plans.find(cmd.planCode, cmd.planVersion);
    if (!plan) throw notFound('plan', cmd.planCode);
    const check = new Checker();
    const from = current.plan.plan;
    if (plan.plan.id === from.id) check.fail('planCode', 'the subscription is already on that plan version');
    if (plan.plan.currency !== from.currency) check.fail('planCode', `the plan is in ${plan.plan.currency}; the subscription is billed in ${from.currency}`);
    if (plan.plan.billingInterval !== from.billingInterval) {
      check.fail('planCode', `the plan is billed ${plan.plan.billingInterval}, the subscription ${from.billingInterval}: cancel and subscribe anew to change the interval`);
    }
    check.done();
    const now = await this.customers.nowOf(customer);
    const upgrade = new Decimal(plan.plan.baseFee).greaterThan(from.baseFee);
    const timing = cmd.timing ?? (upgrade ? 'IMMEDIATE' : 'PERIOD_END');
    const at = timing === 'IMMEDIATE' ? now : this.periodOf(current, customer.timezone, now).end;
    const old = current.subscription;
    const next = Object.assign(new Subscription(), {
      ...old,
      id: newId(now.getTime()),
      planId: plan.plan.id,
      status: SubscriptionStatus.ACTIVE,
      startsAt: at,
      endsAt: null,
      cancelAtPeriodEnd: false,
      canceledAt: null,
      replacesSubscriptionId: old.id,
      trialEndsAt: old.trialEndsAt && old.trialEndsAt.getTime() > at.getTime() ? old.trialEndsAt : null,
      createdAt: now,
      updatedAt: now,
    });
    const ended = { endsAt: at, status: timing === 'IMMEDIATE' ? SubscriptionStatus.ENDED : old.status, updatedAt: now };
    await new SubscriptionRepository(this.orm).replace(old.id, ended, next, {
      topic: WebhookTopic.SUBSCRIPTION_CHANGED,
      eventId: webhookEventId(WebhookTopic.SUBSCRIPTION_CHANGED, next.id),
      data: { subscription: eventSubscription(next, plan), previous: eventSubscription({ ...old, ...ended }, current.plan), timing },
      at: now,
    });
    this.cache.delete(customer.id);
    return { subscription: next, plan };
  }

  /** Cancels a subscription now (IMMEDIATE) or at the end of its current period (PERIOD_END). */
  async cancel(cmd: CancelSubscriptionCommand): Promise<ActivePlan> {
    const { current, customer } = await this.current(cmd.subscriptionId);
    const now = await this.customers.nowOf(customer);
    const immediate = cmd.timing === 'IMMEDIATE';
    const endsAt = immediate ? now : this.periodOf(current, customer.timezone, now).end;
    const changes = { endsAt, status: immediate ? SubscriptionStatus.CANCELED : current.subscription.status, cancelAtPeriodEnd: !immediate, canceledAt: now, updatedAt: now };
    await new SubscriptionRepository(this.orm).replace(current.subscription.id, changes, null, {
      topic: WebhookTopic.SUBSCRIPTION_CANCELED,
      eventId: webhookEventId(WebhookTopic.SUBSCRIPTION_CANCELED, current.subscription.id),
      data: { subscription: eventSubscription({ ...current.subscription, ...changes }, current.plan), timing: immediate ? 'IMMEDIATE' : 'PERIOD_END' },
      at: now,
    });
    this.cache.delete(customer.id);
    return { subscription: Object.assign(current.subscription, changes), plan: current.plan };
  }

  /** A subscription in force now with nothing scheduled after it, and its customer. */
  private async current(subscriptionId: string) {
    if (!isUuid(subscriptionId)) throw new ValidationError([{ path: 'subscriptionId', message: 'must be a subscription id' }]);
    const row = await new SubscriptionRepository(this.orm).get(subscriptionId);
    if (!row) throw notFound('subscription', subscriptionId);
    const customer = await this.customers.get({ id: row.customerId });
    const current = (await this.forCustomer(row.customerId, true)).find((s) => s.subscription.id === subscriptionId)!;
    const now = (await this.customers.nowOf(customer)).getTime();
    if (row.startsAt.getTime() > now) throw new AppError(ErrorCode.CONFLICT, 'the subscription has not started yet');
    if (row.endsAt) {
      throw new AppError(ErrorCode.CONFLICT, row.endsAt.getTime() <= now ? 'the subscription has ended' : 'a change or cancellation is already scheduled for this subscription');
    }
    return { current, customer };
  }

  /** Forgets cached subscriptions (after a change). */
  invalidate(customerId: string): void {
    this.cache.delete(customerId);
  }
}

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

/** A subscription as subscription webhooks carry it. */
function eventSubscription(s: Subscription, plan: PlanView): SubscriptionEventSubscription {
  return {
    id: s.id,
    customerId: s.customerId,
    planCode: plan.plan.code,
    planVersion: plan.plan.version,
    status: s.status,
    startsAt: s.startsAt.toISOString(),
    endsAt: iso(s.endsAt),
    trialEndsAt: iso(s.trialEndsAt),
    cancelAtPeriodEnd: s.cancelAtPeriodEnd,
    canceledAt: iso(s.canceledAt),
    replacesSubscriptionId: s.replacesSubscriptionId,
  };
}
