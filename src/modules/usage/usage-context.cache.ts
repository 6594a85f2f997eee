import { LRUCache } from 'lru-cache';
import type { CompiledRuleSet } from '../../rating/compile.js';
import { AppError, ErrorCode, notFound } from '../../shared/errors.js';
import type { Customer, CustomerService } from '../customers/index.js';
import type { Meter, MeterService } from '../meters/index.js';
import type { RuleService } from '../rules/index.js';
import { periodKey, type Period, type ActivePlan, type SubscriptionService } from '../subscriptions/index.js';

const CACHE_MS = 10_000;

/** Everything pricing needs to know about an event besides the event itself. */
export interface UsageContext {
  customer: Customer;
  meter: Meter;
  active: ActivePlan | undefined;
  ruleSet: CompiledRuleSet;
  period: Period;
  periodKey: string;
  /** The cost books in force at the event's time: they rate what serving it cost. */
  costBooks: CompiledRuleSet[];
}

/** A plan charge names a cost book as its price: refused, nothing is charged. */
export const costBookAsPrice = (key: string): AppError =>
  new AppError(ErrorCode.RULE_SET_IS_COST_BOOK, `rule set ${key} is a cost book: it says what serving usage costs and never prices it; the plan must name a price rule set`, { ruleSet: key });

/**
 * Lookups read for every event and changed rarely: fresh for CACHE_MS; after that the cached value
 * still answers while one background load replaces it (lru-cache's stale-while-revalidate), so
 * no event waits on a reload, and a burst of misses makes one query. A load that fails drops the
 * entry; the next event loads again and waits.
 */
function lookupCache<V extends object>(load: (key: string) => Promise<V>): LRUCache<string, V> {
  return new LRUCache<string, V>({ max: 50_000, ttl: CACHE_MS, allowStale: true, fetchMethod: (key) => load(key) });
}

/**
 * Resolves a usage event's customer, meter, plan, rule-set version and billing period, with
 * short caches: these change rarely and are read for every event.
 */
export class UsageContextCache {
  private readonly customersById = lookupCache<Customer>((id) => this.customers.get({ id }));
  private readonly customersByExternal = lookupCache<Customer>((externalId) => this.customers.get({ externalId }));
  private readonly meters = lookupCache<Meter>(async (code) => {
    const found = await this.meterService.findByCode(code);
    if (!found) throw notFound('meter', code);
    return found;
  });
  /** The last billing period computed per customer and subscription: most events fall in it. */
  private readonly periods = new Map<string, Period>();

  constructor(
    private readonly customers: CustomerService,
    private readonly meterService: MeterService,
    private readonly subscriptions: SubscriptionService,
    private readonly rules: RuleService,
  ) {}

  async customer(ref: { id?: string | null; externalId?: string | null }): Promise<Customer> {
    const [cache, other] = ref.id ? [this.customersById, this.customersByExternal] : [this.customersByExternal, this.customersById];
    const customer = (await cache.fetch((ref.id ?? ref.externalId)!))!;
    const otherKey = ref.id ? customer.externalId : customer.id;
    if (other.peek(otherKey, { allowStale: true }) !== customer) other.set(otherKey, customer);
    return customer;
  }

  /** The customer's now: `now` for a live customer, its test clock's time for one on a clock (read afresh). */
  nowOf(customer: Customer, now: Date): Promise<Date> | Date {
    return customer.testClockId ? this.customers.nowOf(customer) : now;
  }

  /** Forgets a customer (its settings or standing changed). */
  forgetCustomer(customer: Pick<Customer, 'id' | 'externalId'>): void {
    this.customersById.delete(customer.id);
    this.customersByExternal.delete(customer.externalId);
  }

  async meter(code: string): Promise<Meter> {
    return (await this.meters.fetch(code))!;
  }

  async resolve(customer: Customer, meter: Meter, at: Date): Promise<UsageContext> {
    const active = await this.subscriptions.activeAt(customer.id, at);
    const charge = active?.plan.charges.find((c) => c.meter.id === meter.id);
    if (!charge) {
      throw new AppError(ErrorCode.NOT_FOUND, `no plan charges meter ${meter.code} for customer ${customer.externalId} at ${at.toISOString()}`, {
        what: 'plan charge',
        meter: meter.code,
      });
    }
    const ruleSet = this.rules.resolve(charge.charge.ruleSetKey, at);
    if (!ruleSet) throw notFound('rule set in force', `${charge.charge.ruleSetKey} at ${at.toISOString()}`);
    // Fail closed: a cost book (named by a plan before it was published as one) never prices usage.
    if (ruleSet.purpose === 'cost') throw costBookAsPrice(ruleSet.ref.key);
    const periodCacheKey = `${customer.id}|${active?.subscription.id ?? ''}|${customer.timezone}`;
    let period = this.periods.get(periodCacheKey);
    if (!period || at.getTime() < period.start.getTime() || at.getTime() >= period.end.getTime()) {
      period = this.subscriptions.periodOf(active, customer.timezone, at);
      if (this.periods.size > 100_000) this.periods.clear();
      this.periods.set(periodCacheKey, period);
    }
    return { customer, meter, active, ruleSet, period, periodKey: periodKey(period), costBooks: this.rules.costBooks(at) };
  }
}
