import { rateAggregate, type AggregateRating } from '../../rating/rate-aggregate.js';
import { rateEvent } from '../../rating/rate-event.js';
import type { EventRating, RatingInput } from '../../rating/types.js';
import type { Clock } from '../../shared/clock.js';
import { AppError, ErrorCode, notFound } from '../../shared/errors.js';
import { Decimal } from '../../shared/money/decimal.js';
import { Checker } from '../../shared/validation.js';
import type { CustomerService } from '../customers/index.js';
import type { MeterService, Meter } from '../meters/index.js';
import type { PlanService } from '../plans/index.js';
import { checkDimensions, checkDistinctValue, checkQuantity, checkValues, meterFacts } from '../usage/index.js';
import { calendarMonth } from './rule-examples.files.js';
import type { RuleService } from './rule-set.service.js';

export interface PreviewChargeCommand {
  /** Which rule set: given directly, or through a plan's charge for the meter. */
  ruleSetKey?: string | null;
  planCode?: string | null;
  planVersion?: number | null;
  /** A customer whose facts (id, external id, metadata) the rules may read. */
  customerId?: string | null;
  meterCode: string;
  quantity: Decimal;
  timestamp?: Date | null;
  dimensions?: unknown;
  values?: unknown;
  /** Period-to-date quantity before the event (every counter of the event starts there). */
  periodQuantity?: Decimal | null;
  /** Rate the quantity as a whole period's aggregate instead of one event. */
  aggregate?: boolean | null;
  /** With aggregate: the period's number of events. */
  events?: number | null;
}

/** The number of events an aggregate preview prices: given, or a COUNT meter's quantity. */
function aggregateEvents(check: Checker, cmd: PreviewChargeCommand, meter: Meter): number {
  if (cmd.events === null || cmd.events === undefined) {
    if (meter.aggregation === 'COUNT' && cmd.quantity?.isInteger()) return cmd.quantity.toNumber();
    check.fail('events', "is required with aggregate: the number of events in the period");
    return 0;
  }
  return check.integer('events', cmd.events, { min: 0, max: 1_000_000_000 }) ?? 0;
}

export type ChargePreview = { kind: 'event'; rating: EventRating } | { kind: 'aggregate'; rating: AggregateRating };

/** Prices a hypothetical event (or period) with the rule set in force, without recording anything. */
export class ChargePreviewService {
  constructor(
    private readonly rules: RuleService,
    private readonly meters: MeterService,
    private readonly plans: PlanService,
    private readonly customers: CustomerService,
    private readonly clock: Clock,
  ) {}

  async preview(cmd: PreviewChargeCommand): Promise<ChargePreview> {
    const meter = await this.meters.findByCode(cmd.meterCode);
    const check = new Checker();
    if (!meter) check.fail('meterCode', `unknown meter ${JSON.stringify(cmd.meterCode)}`);
    // A RECURRING meter's event sets its level, which may be 0.
    const quantity = checkQuantity(check, 'quantity', cmd.quantity, meter?.aggregation === 'RECURRING');
    const dimensions = checkDimensions(check, 'dimensions', cmd.dimensions, meter);
    const values = checkValues(check, 'values', cmd.values);
    if (cmd.periodQuantity && cmd.periodQuantity.isNegative()) check.fail('periodQuantity', 'must not be negative');
    if (!!cmd.ruleSetKey === !!cmd.planCode) check.fail('ruleSetKey', 'give exactly one of ruleSetKey and planCode');
    if (meter && !cmd.aggregate) checkDistinctValue(check, 'dimensions', dimensions, meter);
    const events = cmd.aggregate && meter ? aggregateEvents(check, cmd, meter) : 0;
    if (!cmd.aggregate && cmd.events !== null && cmd.events !== undefined) check.fail('events', 'is only for aggregate previews');
    check.done();

    const plan = cmd.planCode ? await this.plans.find(cmd.planCode, cmd.planVersion) : null;
    if (cmd.planCode && !plan) throw notFound('plan', cmd.planCode);
    const key = cmd.ruleSetKey ?? plan!.charges.find((c) => c.meter.code === meter!.code)?.charge.ruleSetKey;
    if (!key) throw new AppError(ErrorCode.VALIDATION_FAILED, `plan ${cmd.planCode} has no charge for meter ${meter!.code}`, { fields: [{ path: 'meterCode', message: 'not charged by this plan' }] });
    const at = cmd.timestamp ?? this.clock.now();
    const ruleSet = this.rules.resolve(key, at);
    if (!ruleSet) throw notFound('rule set in force', `${key} at ${at.toISOString()}`);
    const customer = cmd.customerId ? await this.customers.get({ id: cmd.customerId }) : null;

    const event = { meter: meter!.code, quantity: quantity!, timestamp: at, dimensions, values };
    const facts = {
      event,
      customer: customer ? { id: customer.id, externalId: customer.externalId, metadata: customer.metadata } : { id: '', externalId: '', metadata: {} },
      plan: plan && { code: plan.plan.code, version: plan.plan.version },
    };
    if (cmd.aggregate) return { kind: 'aggregate', rating: await rateAggregate(ruleSet, { ...facts, events }) };
    const before = cmd.periodQuantity ?? new Decimal(0);
    // Every counter the event touches stands at the given period quantity; a UNIQUE_COUNT value counts
    // as new, and a rule set's maximum spend has charged nothing yet. A RECURRING meter's event is
    // priced in the calendar month (UTC) of its timestamp.
    const fresh = (k: string) => k.startsWith('seen:') || k.startsWith('spend:');
    const input: RatingInput = { ...facts, period: { quantity: before, counters: { get: (k) => (fresh(k) ? undefined : before) }, ...calendarMonth(at) }, meter: meterFacts(meter!, dimensions) };
    return { kind: 'event', rating: await rateEvent(ruleSet, input) };
  }
}
