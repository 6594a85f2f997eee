import { Decimal } from '../shared/money/decimal.js';
import { roundToLedgerUnits } from '../shared/money/units.js';
import type { CompiledRuleSet } from './compile.js';
import { toSelectionFacts } from './selection.js';
import { unpriced } from './rate-event.js';
import type { AppliedAdjustment, RatingInput, Refusal, RuleSetRef, TierPart } from './types.js';

export interface AggregateInput extends Omit<RatingInput, 'period'> {
  /** Number of events in the aggregate (for per-event fees and free events). */
  events: number;
}

export interface AggregateLine {
  componentId: string;
  model: string;
  description: string | null;
  /** Billable quantity (after free units), or the value total a percentage applies to. */
  quantity: Decimal;
  /** Exact amount before adjustments; null with amount. */
  base: Decimal | null;
  /** Exact amount; null when only the sum of per-event amounts is right (per-event minimums or maximums). */
  amount: Decimal | null;
  /** The amount rounded once to ledger units (half up); null with amount. */
  units: bigint | null;
  /**
   * True when the amount rests on an assumption: a percentage charge with free events, whose
   * free events' values an aggregate cannot know, assumes every event carried the average value.
   */
  estimated: boolean;
  tiers: TierPart[];
  adjustments: AppliedAdjustment[];
}

export interface AggregateRating {
  ruleSet: RuleSetRef;
  firedRules: string[];
  refusal: Refusal | null;
  lines: AggregateLine[];
}

const ZERO = new Decimal(0);
const ONE = new Decimal(1);

/**
 * Rates a period's aggregate: the whole quantity (and value totals) of a period counter as one
 * event starting from zero. This is what invoices use; volume tiers, packages and flat fees at
 * zero usage are exact here. For graduated, per-unit and package charges it equals the sum of
 * the period's per-event ratings, to the last ledger unit.
 */
export async function rateAggregate(ruleSet: CompiledRuleSet, input: AggregateInput): Promise<AggregateRating> {
  const facts = toSelectionFacts({ ...input, period: { quantity: ZERO, counters: { get: () => undefined } } });
  const selection = ruleSet.selector.selectCached(facts) ?? (await ruleSet.selector.select(facts));
  const firedRules = selection.fired.map((f) => f.name);
  const refusal = selection.fired.find((f) => f.event.type === 'refuse');
  if (refusal && refusal.event.type === 'refuse') {
    return { ruleSet: ruleSet.ref, firedRules, refusal: { ...refusal.event.params, rule: refusal.name, source: 'rule' }, lines: [] };
  }
  if (!selection.fired.some((f) => f.event.type === 'charge') && ruleSet.unmatched === 'refuse') {
    return { ruleSet: ruleSet.ref, firedRules, refusal: unpriced(ruleSet, input), lines: [] };
  }
  const adjustments = selection.fired.flatMap((f) => (f.event.type === 'adjustment' ? [f.event.params] : []));
  const lines: AggregateLine[] = [];
  for (const fired of selection.fired) {
    if (fired.event.type !== 'charge') continue;
    const component = ruleSet.components.get(fired.event.params.id)!;
    const applied = adjustments
      .filter((a) => !a.appliesTo || a.appliesTo.includes(component.params.id))
      .map((a) => ({ id: a.id, kind: a.kind, factor: ruleSet.adjustmentFactor(a) }));
    const factor = applied.reduce((m, a) => m.times(a.factor), ONE);
    const charge = component.charge;
    let quantity: Decimal;
    let priced: { amount: Decimal; parts: TierPart[]; estimated?: boolean } | null;
    if (charge.kind === 'cumulative') {
      const measured = charge.measure === 'quantity' ? input.event.quantity : (input.event.values[charge.of!] ?? ZERO);
      quantity = Decimal.max(ZERO, measured.minus(component.freeUnits));
      priced = charge.total(quantity);
    } else {
      quantity = input.event.values[charge.of] ?? ZERO;
      priced = charge.total(quantity, input.events);
    }
    const amount = priced && priced.amount.times(factor);
    lines.push({
      componentId: component.params.id,
      model: charge.model,
      description: component.params.description ?? null,
      quantity,
      base: priced?.amount ?? null,
      amount,
      units: amount && roundToLedgerUnits(amount, 'HALF_UP'),
      estimated: priced?.estimated ?? false,
      tiers: priced?.parts ?? [],
      adjustments: applied,
    });
  }
  if (ruleSet.maximumSpend) capAggregate(ruleSet.maximumSpend, lines);
  return { ruleSet: ruleSet.ref, firedRules, refusal: null, lines };
}

/** A rule set's maximumSpend over a whole period: its lines, in order, add up to at most the cap. */
function capAggregate(cap: Decimal, lines: AggregateLine[]): void {
  let room = cap;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (!l.amount) continue;
    if (l.amount.lessThanOrEqualTo(room)) {
      room = room.minus(l.amount);
      continue;
    }
    const amount = room;
    room = ZERO;
    const base = l.base && (l.amount.isZero() ? ZERO : l.base.times(amount).div(l.amount));
    lines[i] = { ...l, amount, base, units: roundToLedgerUnits(amount, 'HALF_UP'), tiers: [] };
  }
}
