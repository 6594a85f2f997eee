import { Decimal } from '../shared/money/decimal.js';
import { exactLedgerUnits, fromLedgerUnits, roundToLedgerUnits } from '../shared/money/units.js';
import { COUNTER_EPSILON, type CumulativeCharge, type PerEventCharge } from './charge-models/index.js';
import type { CompiledComponent, CompiledRuleSet } from './compile.js';
import { toSelectionFacts, type FiredRule, type Selection } from './selection.js';
import type { AdjustmentParams, AppliedAdjustment, CounterLookup, CounterUse, EventRating, MeterAdvance, MeterFacts, PricedLine, RatingInput, Refusal } from './types.js';

const ZERO = new Decimal(0);
const ONE = new Decimal(1);

/** The key of a charge's period counter: its counter name (default: its id) and its counterBy dimension values. */
export function counterKey(component: CompiledComponent, dimensions: Readonly<Record<string, string>>): string {
  const name = component.params.counter ?? component.params.id;
  const by = component.params.counterBy;
  if (!by || by.length === 0) return name;
  return `${name}|${by.map((d) => `${d}=${Object.hasOwn(dimensions, d) ? dimensions[d] : ''}`).join('|')}`;
}

const onLattice = (x: Decimal): boolean => x.times(1e9).isInteger();

/**
 * Rates one event given the period-to-date state before it. Pure: facts in, priced lines out.
 *
 * Rounding: a line's exact amount is kept; what the wallet is charged (`units`, 1e-9 of the
 * currency) is, for exact cumulative charges, round(H(after)) - round(H(before)) where H is the
 * charge's period function and round is half-up at 1e-9. The rounding errors cancel, so the
 * per-event charges of a period add up to its aggregate, rounded once. Provisional and per-event
 * charges round their own amount half-up.
 */
export async function rateEvent(ruleSet: CompiledRuleSet, input: RatingInput): Promise<EventRating> {
  const key = ruleSet.selector.keyOfInput(input);
  const selection = ruleSet.selector.lookup(input, key) ?? (await ruleSet.selector.select(toSelectionFacts(input), key));
  return priceSelection(ruleSet, input, selection);
}

/** rateEvent without waiting, when the rule selection is memoised already; undefined when it is not. */
export function rateEventIfWarm(ruleSet: CompiledRuleSet, input: RatingInput): EventRating | undefined {
  const selection = ruleSet.selector.lookup(input);
  return selection && priceSelection(ruleSet, input, selection);
}

/** Prices what the rules selected. Synchronous: selection is the only step that may wait. */
export function priceSelection(ruleSet: CompiledRuleSet, input: RatingInput, selection: Selection): EventRating {
  const prepared = prepare(ruleSet, selection.fired);
  const firedRules = prepared.names.slice();
  const refusalRule = prepared.refusal;
  if (refusalRule && refusalRule.event.type === 'refuse') {
    const { code, message } = refusalRule.event.params;
    return refused(ruleSet, firedRules, selection, { code, message, rule: refusalRule.name, source: 'rule' });
  }
  const meter = input.meter ?? SUM;
  const mark = distinctMark(input, meter);
  if (mark === 'missing') {
    return refused(ruleSet, firedRules, selection, {
      code: 'VALUE_MISSING',
      message: `meter ${input.event.meter} counts distinct values, and the event carries none`,
      rule: '',
      source: 'rule',
    });
  }
  const lines: PricedLine[] = [];
  // Charges that share a counter see it advanced by the charges before them in this event.
  const advanced = new Map<string, Decimal>();
  const counters = { get: (key: string) => advanced.get(key) ?? input.period.counters.get(key) };
  let charges = 0;
  for (const { fired, component, applied, factor } of prepared.charges) {
    charges++;
    const priced = priceComponent(component, applied, factor, input, counters, meter, mark?.seen ?? false);
    if ('missing' in priced) {
      return refused(ruleSet, firedRules, selection, {
        code: 'VALUE_MISSING',
        message: `the event carries no value "${priced.missing}", which charge ${component.params.id} needs`,
        rule: fired.name,
        source: 'rule',
      });
    }
    if (priced.counter && charges < prepared.charges.length) advanced.set(priced.counter.key, priced.counter.before.plus(priced.counter.delta));
    lines.push(priced);
  }
  if (charges === 0 && ruleSet.unmatched === 'refuse') return refused(ruleSet, firedRules, selection, unpriced(ruleSet, input));
  const marks = mark ? [mark.use] : [];
  if (ruleSet.maximumSpend) marks.push(capToMaximum(ruleSet.ref.key, ruleSet.maximumSpend, lines, input.period.counters));
  return {
    ruleSet: ruleSet.ref,
    firedRules,
    refusal: null,
    lines,
    amount: lines.length === 1 ? lines[0]!.amount : lines.reduce((sum, l) => sum.plus(l.amount), ZERO),
    units: lines.reduce((sum, l) => sum + l.units, 0n),
    periodValidity: selection.periodValidity,
    meterAdvance: meterAdvance(input, meter, selection.periodValidity, mark?.seen ?? false),
    marks,
  };
}

/** The period counter of what a rule set with a maximum spend has charged (in currency units, at ledger scale). */
export const spendCounterKey = (ruleSetKey: string): string => `spend:${ruleSetKey}`;

/**
 * A rule set's maximumSpend: what its events are charged in a period, in ledger units, stops at
 * the cap. The event that reaches it pays up to it (its lines cut in order), later ones nothing.
 * Returns the use of the spend counter, with the counter values for which the result holds.
 */
function capToMaximum(ruleSetKey: string, cap: Decimal, lines: PricedLine[], counters: CounterLookup): CounterUse {
  const key = spendCounterKey(ruleSetKey);
  const before = counters.get(key) ?? ZERO;
  const capUnits = roundToLedgerUnits(cap, 'HALF_UP');
  const beforeUnits = roundToLedgerUnits(before, 'HALF_UP');
  const total = lines.reduce((sum, l) => sum + l.units, 0n);
  const left = capUnits - beforeUnits;
  if (total <= left) {
    // Under the cap wherever the counter stands, up to the cap less this event.
    return { key, before, delta: fromLedgerUnits(total), validFrom: ZERO, validTo: fromLedgerUnits(capUnits - total) };
  }
  let room = left > 0n ? left : 0n;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.units <= room) {
      room -= l.units;
      continue;
    }
    const units = room;
    room = 0n;
    const amount = fromLedgerUnits(units);
    const base = l.amount.isZero() ? ZERO : l.base.times(amount).div(l.amount);
    lines[i] = { ...l, amount, base, units, tiers: [] };
  }
  const charged = left > 0n ? left : 0n;
  // Past the cap the event is free wherever the counter stands above it; crossing it, only here.
  if (left <= 0n) return { key, before, delta: ZERO, validFrom: fromLedgerUnits(beforeUnits < capUnits ? beforeUnits : capUnits), validTo: null };
  return { key, before, delta: fromLedgerUnits(charged), validFrom: before, validTo: before };
}

const SUM: MeterFacts = { aggregation: 'SUM' };

/** The refusal of an event that no charge of the rule set prices (unless the set says unmatched events are free). */
export function unpriced(ruleSet: CompiledRuleSet, input: Pick<RatingInput, 'event'>): Refusal {
  const dims = Object.entries(input.event.dimensions).sort(([a], [b]) => (a < b ? -1 : 1));
  const shown = dims.length === 0 ? 'no dimensions' : `dimensions ${dims.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ')}`;
  return {
    code: 'UNPRICED_EVENT',
    message: `no charge of rule set ${ruleSet.ref.key} v${ruleSet.ref.version} prices this event (meter ${input.event.meter}, ${shown})`,
    rule: '',
    source: 'unpriced',
  };
}

/** The key of the period marker saying a UNIQUE_COUNT meter has seen a value. */
export const distinctMarkKey = (meter: string, value: string): string => `seen:${meter}|${value}`;

/** UNIQUE_COUNT: whether the event's value was seen this period, and the marker it sets. */
function distinctMark(input: RatingInput, meter: MeterFacts): { seen: boolean; use: CounterUse } | null | 'missing' {
  if (meter.aggregation !== 'UNIQUE_COUNT') return null;
  if (meter.distinctValue === undefined) return 'missing';
  const key = distinctMarkKey(input.event.meter, meter.distinctValue);
  const seen = (input.period.counters.get(key) ?? ZERO).greaterThan(0);
  const at = seen ? ONE : ZERO;
  return { seen, use: { key, before: at, delta: seen ? ZERO : ONE, validFrom: at, validTo: at } };
}

/**
 * How the event moves its meter's period quantity: SUM and COUNT add the quantity; MAX and LATEST
 * raise it to the event's quantity when that is higher (so the advance holds only for the exact
 * quantity it was computed from); UNIQUE_COUNT adds one for a value not seen this period;
 * RECURRING sets it to the event's quantity, the meter's new level (up or down, for the exact
 * level it was computed from).
 */
function meterAdvance(input: RatingInput, meter: MeterFacts, validity: Selection['periodValidity'], seen: boolean): MeterAdvance {
  const from = validity?.from ?? null;
  const to = validity?.to ?? null;
  const q = input.event.quantity;
  const before = input.period.quantity;
  switch (meter.aggregation) {
    case 'MAX':
    case 'LATEST':
      if (q.lessThanOrEqualTo(before)) return { delta: ZERO, validFrom: from === null ? q : Decimal.max(from, q), validTo: to };
      return { delta: q.minus(before), validFrom: before, validTo: before };
    case 'UNIQUE_COUNT':
      return { delta: seen ? ZERO : ONE, validFrom: from, validTo: to };
    case 'RECURRING':
      return { delta: q.minus(before), validFrom: before, validTo: before };
    default:
      return { delta: q, validFrom: from, validTo: to };
  }
}

function refused(ruleSet: CompiledRuleSet, firedRules: string[], selection: Selection, refusal: Refusal): EventRating {
  return {
    ruleSet: ruleSet.ref,
    firedRules,
    refusal,
    lines: [],
    amount: ZERO,
    units: 0n,
    periodValidity: selection.periodValidity,
    meterAdvance: { delta: ZERO, validFrom: null, validTo: null },
    marks: [],
  };
}

/** What a selection fires, worked out once per memoised selection: its rule names, refusal and charges with their adjustments. */
interface PreparedSelection {
  names: string[];
  refusal: FiredRule | undefined;
  charges: Array<{ fired: FiredRule; component: CompiledComponent; applied: AppliedAdjustment[]; factor: Decimal }>;
}

/** Keyed by the selector's memoised rule list, which belongs to one rule set and never changes. */
const PREPARED = new WeakMap<FiredRule[], PreparedSelection>();

function prepare(ruleSet: CompiledRuleSet, fired: FiredRule[]): PreparedSelection {
  let p = PREPARED.get(fired);
  if (!p) {
    const adjustments = fired.flatMap((f) => (f.event.type === 'adjustment' ? [f.event.params] : []));
    p = {
      names: fired.map((f) => f.name),
      refusal: fired.find((f) => f.event.type === 'refuse'),
      charges: fired.flatMap((f) => {
        if (f.event.type !== 'charge') return [];
        const component = ruleSet.components.get(f.event.params.id)!;
        const applied = adjustmentsFor(ruleSet, adjustments, component.params.id);
        return [{ fired: f, component, applied, factor: applied.length === 0 ? ONE : applied.reduce((m, a) => m.times(a.factor), ONE) }];
      }),
    };
    PREPARED.set(fired, p);
  }
  return p;
}

function adjustmentsFor(ruleSet: CompiledRuleSet, adjustments: AdjustmentParams[], componentId: string): AppliedAdjustment[] {
  return adjustments
    .filter((a) => !a.appliesTo || a.appliesTo.includes(componentId))
    .map((a) => ({ id: a.id, kind: a.kind, factor: ruleSet.adjustmentFactor(a) }));
}

function priceComponent(
  component: CompiledComponent,
  applied: AppliedAdjustment[],
  factor: Decimal,
  input: RatingInput,
  counters: CounterLookup,
  meter: MeterFacts,
  seen: boolean,
): PricedLine | { missing: string } {
  const charge = component.charge;
  if (charge.kind === 'per-event') return pricePerEvent(component, charge, factor, applied, input, counters);
  const measured = charge.measure === 'quantity' ? input.event.quantity : input.event.values[charge.of!];
  if (measured === undefined) return { missing: charge.of! };
  // Value-measured charges add the value the event carries, whatever the meter.
  const aggregation = charge.measure === 'quantity' ? meter.aggregation : 'SUM';
  if (aggregation === 'RECURRING') return priceLevel(component, charge, factor, applied, input, counters, measured);
  return priceCumulative(component, charge, factor, applied, input.event.dimensions, counters, measured, aggregation, seen);
}

/**
 * RECURRING: the share of the billing period left from the event on, (end − t) / (end − start),
 * kept within [0, 1]; the whole period when the input carries no period bounds.
 */
export function remainingShare(input: Pick<RatingInput, 'event' | 'period'>): Decimal {
  const { start, end } = input.period;
  if (!start || !end || end.getTime() <= start.getTime()) return ONE;
  const left = new Decimal(end.getTime() - input.event.timestamp.getTime()).div(end.getTime() - start.getTime());
  return Decimal.min(ONE, Decimal.max(ZERO, left));
}

/**
 * A charge of a RECURRING meter. The counter holds the meter's level (carried over from earlier
 * periods when the period starts); the event sets a new level q. It is charged the rise of the
 * whole-period price, max(0, total(q) − total(level)), for the share of the period left
 * (remainingShare): a downgrade is charged nothing here and credited by the invoice, which
 * bills the exact time-weighted amount. Provisional, rounded half up; the result holds for the
 * exact level it was computed from.
 */
function priceLevel(
  component: CompiledComponent,
  charge: CumulativeCharge,
  factor: Decimal,
  applied: AppliedAdjustment[],
  input: RatingInput,
  counters: CounterLookup,
  q: Decimal,
): PricedLine {
  const key = counterKey(component, input.event.dimensions);
  const c = counters.get(key) ?? ZERO;
  const free = component.freeUnits;
  const billable = (x: Decimal) => Decimal.max(ZERO, x.minus(free));
  const rise = Decimal.max(ZERO, charge.total(billable(q)).amount.minus(charge.total(billable(c)).amount));
  const base = rise.times(remainingShare(input));
  const amount = base.times(factor);
  const fields: LineFields = { componentId: component.params.id, model: charge.model, description: component.params.description ?? null, adjustments: applied, provisional: true };
  return line(fields, billable(q).minus(billable(c)), base, amount, roundToLedgerUnits(amount, 'HALF_UP'), [], { key, before: c, delta: q.minus(c), validFrom: c, validTo: c });
}

/**
 * A charge priced from its period counter. How far the event moves the counter follows the
 * meter's aggregation: SUM and COUNT add the quantity. For MAX and LATEST the counter holds the
 * period's highest value, and the event is charged for how far it raises it (nothing otherwise;
 * LATEST is trued up to the period's last value on the invoice); UNIQUE_COUNT adds one for a
 * value first seen this period.
 */
function priceCumulative(
  component: CompiledComponent,
  charge: CumulativeCharge,
  factor: Decimal,
  applied: AppliedAdjustment[],
  dimensions: Readonly<Record<string, string>>,
  counters: CounterLookup,
  q: Decimal,
  aggregation: MeterFacts['aggregation'],
  seen: boolean,
): PricedLine {
  const key = counterKey(component, dimensions);
  const c = counters.get(key) ?? ZERO;
  const fields: LineFields = { componentId: component.params.id, model: charge.model, description: component.params.description ?? null, adjustments: applied, provisional: !charge.exact || aggregation === 'LATEST' };
  const moveBy = (delta: Decimal) => inPiece(charge, factor, component.freeUnits, key, c, delta, fields) ?? general(charge, factor, component.freeUnits, key, c, delta, fields);
  const still = (validFrom: Decimal) => line(fields, ZERO, ZERO, ZERO, 0n, [], { key, before: c, delta: ZERO, validFrom, validTo: null });
  switch (aggregation) {
    case 'UNIQUE_COUNT':
      return seen ? still(ZERO) : moveBy(ONE);
    case 'MAX':
    case 'LATEST': {
      // Nothing while the event does not raise the maximum, wherever the counter stands above it;
      // a rise depends on the exact maximum it was computed from.
      if (q.lessThanOrEqualTo(c)) return still(q);
      const priced = moveBy(q.minus(c));
      return { ...priced, counter: { ...priced.counter!, validFrom: c, validTo: c } };
    }
    default:
      return moveBy(q);
  }
}

type LineFields = Pick<PricedLine, 'componentId' | 'model' | 'description' | 'adjustments' | 'provisional'>;

/**
 * The common case, priced without walking tiers: the event lies inside one piece of the charge
 * (no tier, package or allowance bound crossed, no tier entered) and its amount is a whole number
 * of ledger units. Returns undefined otherwise; `general` then gives the same answer the long way.
 */
export function inPiece(charge: CumulativeCharge, factor: Decimal, free: Decimal, key: string, c: Decimal, q: Decimal, fields: LineFields): PricedLine | undefined {
  const noFree = free.isZero();
  if (!noFree && c.lessThan(free)) return undefined;
  const a = noFree ? c : c.minus(free);
  const piece = charge.piece(a, a.plus(q));
  if (!piece) return undefined;
  const plainFactor = factor.equals(ONE);
  const amount = plainFactor ? piece.slope.times(q) : piece.slope.times(q).times(factor);
  let units: bigint;
  if (!charge.exact) units = roundToLedgerUnits(amount, 'HALF_UP');
  else if (plainFactor && piece.slopeUnits !== null && q.isInteger()) units = piece.slopeUnits * BigInt(q.toFixed());
  else if (onLattice(amount)) units = exactLedgerUnits(amount);
  else return undefined;
  const base = plainFactor ? amount : piece.slope.times(q);
  const tiers = piece.tier === null ? [] : [{ tier: piece.tier, quantity: q, unitPrice: piece.slope, flatFee: ZERO, amount: base }];
  const validFrom = noFree ? piece.from : piece.from.plus(free);
  const validTo = piece.to && (noFree ? piece.to : piece.to.plus(free));
  return line(fields, q, base, amount, units, tiers, { key, before: c, delta: q, validFrom, validTo });
}

/** Builds a line with one fixed shape (object spread here costs more than the pricing). */
function line(f: LineFields, quantity: Decimal, base: Decimal, amount: Decimal, units: bigint, tiers: PricedLine['tiers'], counter: CounterUse | null): PricedLine {
  return {
    componentId: f.componentId,
    model: f.model,
    description: f.description,
    quantity,
    base,
    amount,
    units,
    tiers,
    adjustments: f.adjustments,
    counter,
    provisional: f.provisional,
  };
}

/** Any event: walks the charge's range, and rounds by telescoping when the amount is not whole. */
export function general(charge: CumulativeCharge, factor: Decimal, free: Decimal, key: string, c: Decimal, q: Decimal, fields: LineFields): PricedLine {
  const billable = (x: Decimal) => Decimal.max(ZERO, x.minus(free));
  const a = billable(c);
  const b = billable(c.plus(q));
  const priced = b.greaterThan(a) ? charge.range(a, b) : { amount: ZERO, parts: [] };
  const amount = priced.amount.times(factor);

  // Where the result holds, in raw counter values (see validity in rules/README.md).
  let validFrom = c;
  let validTo: Decimal | null = c;
  let units: bigint;
  if (c.plus(q).lessThanOrEqualTo(free)) {
    validFrom = ZERO;
    validTo = free.minus(q);
    units = 0n;
  } else if (c.lessThan(free)) {
    units = telescoped(charge, factor, a, b);
  } else {
    const piece = charge.piece(a, b);
    const exactInPiece = piece !== null && (!charge.exact || onLattice(piece.slope.times(factor).times(q)));
    if (piece && exactInPiece) {
      validFrom = piece.from.plus(free);
      validTo = piece.to && piece.to.plus(free);
      units = charge.exact ? exactLedgerUnits(piece.slope.times(factor).times(q)) : roundToLedgerUnits(amount, 'HALF_UP');
    } else {
      units = charge.exact ? telescoped(charge, factor, a, b) : roundToLedgerUnits(amount, 'HALF_UP');
    }
  }
  const counter: CounterUse = { key, before: c, delta: q, validFrom, validTo };
  return line(fields, b.minus(a), priced.amount, amount, units, priced.parts, counter);
}

/** round(H(b)) - round(H(a)), with H(x) = factor * (amount of the range (0, x]) and H(0) = 0. */
function telescoped(charge: CumulativeCharge, factor: Decimal, a: Decimal, b: Decimal): bigint {
  const h = (x: Decimal) => (x.isZero() ? 0n : roundToLedgerUnits(charge.range(ZERO, x).amount.times(factor), 'HALF_UP'));
  return h(b) - h(a);
}

function pricePerEvent(
  component: CompiledComponent,
  charge: PerEventCharge,
  factor: Decimal,
  applied: AppliedAdjustment[],
  input: RatingInput,
  counters: CounterLookup,
): PricedLine | { missing: string } {
  const value = input.event.values[charge.of];
  if (value === undefined) return { missing: charge.of };
  let counter: CounterUse | null = null;
  let eventsBefore = 0;
  let valueBefore = ZERO;
  if (charge.countsValue) {
    // A free amount: the counter holds the period's running total of the value.
    const key = counterKey(component, input.event.dimensions);
    valueBefore = counters.get(key) ?? ZERO;
    const piece = charge.valuePiece!(valueBefore, value);
    counter = { key, before: valueBefore, delta: value, validFrom: piece.from, validTo: piece.to };
  } else if (charge.countsEvents) {
    const key = counterKey(component, input.event.dimensions);
    const before = counters.get(key) ?? ZERO;
    eventsBefore = before.toNumber();
    const piece = charge.eventsPiece(eventsBefore)!;
    counter = { key, before, delta: ONE, validFrom: new Decimal(piece.from), validTo: piece.to === null ? null : new Decimal(piece.to) };
  }
  const base = charge.price(value, eventsBefore, valueBefore).amount;
  const amount = base.times(factor);
  const fields: LineFields = { componentId: component.params.id, model: charge.model, description: component.params.description ?? null, adjustments: applied, provisional: false };
  return line(fields, value, base, amount, roundToLedgerUnits(amount, 'HALF_UP'), [], counter);
}

export { COUNTER_EPSILON };
