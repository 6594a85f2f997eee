import type { CompiledRuleSet } from '../../rating/compile.js';
import { priceSelection } from '../../rating/rate-event.js';
import type { RuleBook } from '../../rating/rule-book.js';
import { toSelectionFacts, type Selection } from '../../rating/selection.js';
import type { EventRating, MeterFacts, PlanFacts, RatingInput } from '../../rating/types.js';
import { Decimal, formatDecimal, RoundingMode } from '../../shared/money/decimal.js';
import { formatLedgerUnits } from '../../shared/money/units.js';
import type { SimulationCustomer, SimulationEventRow, SimulationMeter } from './simulation.record.js';

/*
 * Price simulation: re-rates recorded events under candidate rule sets with the rating core,
 * event by event, keeping each (customer, period)'s counters in memory as the usage path keeps
 * them in the store. Events arrive ordered by customer, period, occurrence and id, so only the
 * current period's counters are held. Money is summed in ledger units (bigint, 1e-9), so every
 * figure is exact: "current" is what each event was charged, "candidate" what the candidate
 * charges it (both rounded half-up at 1e-9 per event, as rating does).
 */

const ZERO = new Decimal(0);
const NO_VALUES: Readonly<Record<string, Decimal>> = Object.freeze({});
/** The group of events that lack the `by` dimension. */
export const NO_DIMENSION = '(none)';

export interface SimulationFigures {
  events: number;
  current: bigint;
  candidate: bigint;
}

/** What a simulation has added up so far, and the period state it is in. */
export interface SimulationTally {
  /** The dimension events are grouped by (e.g. `model`). */
  by: string;
  /** Rule-set keys the candidate defines; events of other keys keep what they were charged. */
  candidateKeys: ReadonlySet<string>;
  /** Events before this instant only rebuild their period's counters; they are not counted. */
  fromMs: number;
  /** Figures per customer, dimension value, rule set and currency; the report adds them up by each. */
  cells: Map<string, SimulationCell>;
  /** Parsed dimensions by their JSON text: events repeat a few combinations. */
  dimensions: Map<string, Readonly<Record<string, string>>>;
  /**
   * Events in the window, and of them those the candidate refuses (or has no version in force
   * for) and those it leaves as charged: of rule sets it does not define, or of RECURRING meters.
   */
  events: number;
  refused: number;
  unchanged: number;
  /** Events read before the window, to rebuild the counters of the window's first periods. */
  primed: number;
  state: {
    customerId: string;
    period: string;
    counters: Map<string, Decimal>;
    meters: Map<string, Decimal>;
    selections: SelectionMemo;
    /** The current customer's cells by (interned) dimensions object, then rule set and currency. */
    cellsByDimensions: Map<Readonly<Record<string, string>>, Map<string, SimulationCell>>;
  };
}

/**
 * The current customer's rule selections, for rule sets whose selection reads only the event's
 * meter and dimensions, the customer and the plan: by rule set, meter and plan, then by the
 * (interned) dimensions object.
 */
type SelectionMemo = Map<CompiledRuleSet, Map<string, Map<Readonly<Record<string, string>>, Selection>>>;

export function newTally(by: string, candidateKeys: Iterable<string>, from: Date): SimulationTally {
  return {
    by,
    candidateKeys: new Set(candidateKeys),
    fromMs: from.getTime(),
    cells: new Map(),
    dimensions: new Map(),
    events: 0,
    refused: 0,
    unchanged: 0,
    primed: 0,
    state: { customerId: '', period: '', counters: new Map(), meters: new Map(), selections: new Map(), cellsByDimensions: new Map() },
  };
}

export interface SimulationLookups {
  customers: ReadonlyMap<string, SimulationCustomer>;
  meters: ReadonlyMap<string, SimulationMeter>;
}

export interface SimulationCell extends SimulationFigures {
  customer: string;
  value: string;
  ruleSet: string;
  currency: string;
}

function add(map: Map<string, SimulationFigures>, key: string, f: SimulationFigures): void {
  const to = map.get(key);
  if (to) {
    to.events += f.events;
    to.current += f.current;
    to.candidate += f.candidate;
  } else map.set(key, { events: f.events, current: f.current, candidate: f.candidate });
}

const DIMENSION_CACHE = 10_000;

function dimensionsOf(tally: SimulationTally, json: string): Readonly<Record<string, string>> {
  let d = tally.dimensions.get(json);
  if (!d) {
    if (tally.dimensions.size >= DIMENSION_CACHE) tally.dimensions.clear();
    d = Object.freeze(JSON.parse(json) as Record<string, string>);
    tally.dimensions.set(json, d);
  }
  return d;
}

function planAt(customer: SimulationCustomer | undefined, at: number): PlanFacts | null {
  let best: SimulationCustomer['plans'][number] | undefined;
  for (const p of customer?.plans ?? []) if (p.startsAt <= at && (p.endsAt === null || p.endsAt > at) && (!best || p.startsAt > best.startsAt)) best = p;
  return best ? { code: best.code, version: best.version } : null;
}

/** Re-rates one batch of rows (in stream order) under the candidate book and adds them to the tally. */
export async function simulateBatch(book: RuleBook, tally: SimulationTally, rows: readonly SimulationEventRow[], lookups: SimulationLookups): Promise<void> {
  const state = tally.state;
  let customer: SimulationCustomer | undefined;
  let customerFacts: RatingInput['customer'] = { id: '', externalId: '', metadata: {} };
  for (const row of rows) {
    const [customerId, period, atText, meterCode, , dimensionsJson, , key, currency, chargedText] = row;
    if (customerId !== state.customerId) state.cellsByDimensions = new Map();
    if (customerId !== state.customerId || period !== state.period) {
      state.customerId = customerId;
      state.period = period;
      state.counters = new Map();
      state.meters = new Map();
    }
    if (customer?.id !== customerId) {
      state.selections = new Map();
      customer = lookups.customers.get(customerId);
      customerFacts = { id: customerId, externalId: customer?.externalId ?? customerId, metadata: customer?.metadata ?? {} };
    }
    const at = utcMillis(atText);
    const dimensions = dimensionsOf(tally, dimensionsJson);
    const charged = BigInt(chargedText);
    let candidate = charged;
    // A RECURRING meter's charge depends on the billing period's bounds and the level carried
    // into it, which a simulation does not rebuild: its events keep what they were charged.
    if (!tally.candidateKeys.has(key) || lookups.meters.get(meterCode)?.aggregation === 'RECURRING') {
      if (at >= tally.fromMs) tally.unchanged++;
    } else {
      const timestamp = new Date(at);
      const ruleSet: CompiledRuleSet | undefined = book.resolve(key, timestamp);
      if (ruleSet) {
        const plan = planAt(customer, at);
        const input = ratingInput(state, customerFacts, plan, lookups.meters.get(meterCode), row, dimensions, timestamp);
        const memo = ruleSet.selector.readsContextOnly ? selectionsOf(state.selections, ruleSet, meterCode, plan) : null;
        let selection = memo?.get(dimensions);
        if (!selection) {
          // Awaits only when the rule selection is not memoised by the rule set yet.
          selection = ruleSet.selector.lookup(input) ?? (await ruleSet.selector.select(toSelectionFacts(input)));
          memo?.set(dimensions, selection);
        }
        candidate = advance(state, priceSelection(ruleSet, input, selection), meterCode);
      } else candidate = -1n;
      if (candidate < 0n) {
        candidate = 0n;
        if (at >= tally.fromMs) tally.refused++;
      }
    }
    if (at < tally.fromMs) {
      tally.primed++;
      continue;
    }
    tally.events++;
    let cells = state.cellsByDimensions.get(dimensions);
    if (!cells) state.cellsByDimensions.set(dimensions, (cells = new Map()));
    const inCustomer = `${key}\u0000${currency}`;
    let cell = cells.get(inCustomer);
    if (!cell) {
      const value = Object.hasOwn(dimensions, tally.by) ? String(dimensions[tally.by]) : NO_DIMENSION;
      const cellKey = `${customerId}\u0000${value}\u0000${key}\u0000${currency}`;
      cell = tally.cells.get(cellKey);
      if (!cell) tally.cells.set(cellKey, (cell = { customer: customer?.externalId ?? customerId, value, ruleSet: key, currency, events: 0, current: 0n, candidate: 0n }));
      cells.set(inCustomer, cell);
    }
    cell.events++;
    cell.current += charged;
    cell.candidate += candidate;
  }
}

function selectionsOf(memo: SelectionMemo, ruleSet: CompiledRuleSet, meterCode: string, plan: PlanFacts | null): Map<Readonly<Record<string, string>>, Selection> {
  let byContext = memo.get(ruleSet);
  if (!byContext) memo.set(ruleSet, (byContext = new Map()));
  const context = plan ? `${meterCode}\u0000${plan.code}\u0000${plan.version}` : meterCode;
  let byDimensions = byContext.get(context);
  if (!byDimensions) byContext.set(context, (byDimensions = new Map()));
  return byDimensions;
}

/**
 * The instant of a timestamp as PostgreSQL prints it in UTC ("2026-03-01 12:00:00.5+00"), read
 * field by field (Date.parse takes its slow path on this form); anything else goes to Date.parse.
 */
export function utcMillis(text: string): number {
  const end = text.length - 3;
  if (end < 19 || text.charCodeAt(10) !== 32 || text.charCodeAt(end) !== 43 || text.charCodeAt(end + 1) !== 48 || text.charCodeAt(end + 2) !== 48) return Date.parse(text);
  const d = (i: number) => text.charCodeAt(i) - 48;
  let ms = 0;
  // Milliseconds: up to three digits after the point (PostgreSQL prints up to six, without trailing zeros).
  for (let i = 20, scale = 100; i < end && scale >= 1; i++, scale /= 10) ms += d(i) * scale;
  return Date.UTC(d(0) * 1000 + d(1) * 100 + d(2) * 10 + d(3), d(5) * 10 + d(6) - 1, d(8) * 10 + d(9), d(11) * 10 + d(12), d(14) * 10 + d(15), d(17) * 10 + d(18)) + ms;
}

/** The rating input of one event, with the period state before it. */
function ratingInput(
  state: SimulationTally['state'],
  customer: RatingInput['customer'],
  plan: PlanFacts | null,
  meter: SimulationMeter | undefined,
  row: SimulationEventRow,
  dimensions: Readonly<Record<string, string>>,
  timestamp: Date,
): RatingInput {
  const [, , , meterCode, quantityText, , valuesJson] = row;
  let values = NO_VALUES;
  if (valuesJson !== '{}') {
    const parsed = JSON.parse(valuesJson) as Record<string, string>;
    values = {};
    for (const k of Object.keys(parsed)) (values as Record<string, Decimal>)[k] = new Decimal(parsed[k]!);
  }
  const meterFacts: MeterFacts = !meter
    ? { aggregation: 'SUM' }
    : meter.aggregation === 'UNIQUE_COUNT' && meter.property && Object.hasOwn(dimensions, meter.property)
      ? { aggregation: meter.aggregation, distinctValue: dimensions[meter.property] }
      : { aggregation: meter.aggregation };
  return {
    event: { meter: meterCode, quantity: new Decimal(quantityText), timestamp, dimensions, values },
    customer,
    plan,
    period: { quantity: state.meters.get(meterCode) ?? ZERO, counters: state.counters },
    meter: meterFacts,
  };
}

/** Advances the period state by a rating; what it charges, or -1n when the candidate refuses the event. */
function advance(state: SimulationTally['state'], rating: EventRating, meterCode: string): bigint {
  if (rating.refusal) return -1n;
  for (const line of rating.lines) if (line.counter) state.counters.set(line.counter.key, line.counter.before.plus(line.counter.delta));
  for (const mark of rating.marks) state.counters.set(mark.key, mark.before.plus(mark.delta));
  if (!rating.meterAdvance.delta.isZero()) state.meters.set(meterCode, (state.meters.get(meterCode) ?? ZERO).plus(rating.meterAdvance.delta));
  return rating.units;
}

/** One row of the report: current, candidate, difference and percent, as decimal strings. */
export interface SimulationLine {
  name: string;
  currency: string;
  events: number;
  current: string;
  candidate: string;
  difference: string;
  /** The difference as a percent of current, rounded half-up to 2 places; null when current is zero. */
  percent: string | null;
}

export interface SimulationReport {
  from: Date;
  to: Date;
  by: string;
  events: number;
  refused: number;
  unchanged: number;
  primed: number;
  totals: SimulationLine[];
  customers: SimulationLine[];
  groups: SimulationLine[];
  ruleSets: SimulationLine[];
}

function lines(map: Map<string, SimulationFigures>): SimulationLine[] {
  return [...map.entries()]
    .map(([k, f]) => {
      const [currency, name] = k.split('\u0000') as [string, string];
      const diff = f.candidate - f.current;
      const percent = f.current === 0n ? null : new Decimal(diff.toString()).times(100).dividedBy(f.current.toString()).toDecimalPlaces(2, RoundingMode.HALF_UP);
      return { name, currency, events: f.events, current: formatLedgerUnits(f.current), candidate: formatLedgerUnits(f.candidate), difference: formatLedgerUnits(diff), percent: percent && formatDecimal(percent) };
    })
    .sort((a, b) => (a.currency === b.currency ? (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) : a.currency < b.currency ? -1 : 1));
}

/** The report of a finished tally. */
export function simulationReport(tally: SimulationTally, from: Date, to: Date): SimulationReport {
  const customers = new Map<string, SimulationFigures>();
  const groups = new Map<string, SimulationFigures>();
  const ruleSets = new Map<string, SimulationFigures>();
  const totals = new Map<string, SimulationFigures>();
  for (const c of tally.cells.values()) {
    add(customers, `${c.currency}\u0000${c.customer}`, c);
    add(groups, `${c.currency}\u0000${c.value}`, c);
    add(ruleSets, `${c.currency}\u0000${c.ruleSet}`, c);
    add(totals, `${c.currency}\u0000${c.currency}`, c);
  }
  return {
    from,
    to,
    by: tally.by,
    events: tally.events,
    refused: tally.refused,
    unchanged: tally.unchanged,
    primed: tally.primed,
    totals: lines(totals),
    customers: lines(customers),
    groups: lines(groups),
    ruleSets: lines(ruleSets),
  };
}

/** The report as a plain-text table. */
export function formatSimulationReport(r: SimulationReport): string {
  const out: string[] = [];
  out.push(`re-rated ${r.events} event(s) from ${r.from.toISOString()} to ${r.to.toISOString()}` + ` (${r.refused} refused by the candidate, ${r.unchanged} of rule sets it does not change, ${r.primed} earlier in their period read for counters)`);
  const section = (title: string, rows: SimulationLine[]) => {
    out.push('', title);
    const table = [['', 'currency', 'events', 'current', 'candidate', 'difference', 'percent'], ...rows.map((l) => [l.name, l.currency, String(l.events), l.current, l.candidate, l.difference, l.percent === null ? '-' : `${l.percent}%`])];
    const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
    for (const row of table) out.push(row.map((c, i) => (i === 0 || i === 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd());
  };
  section('per customer', r.customers);
  section(`per ${r.by}`, r.groups);
  section('per rule set', r.ruleSets);
  section('total', r.totals);
  return `${out.join('\n')}\n`;
}
