import { Engine, type RuleProperties } from 'json-rules-engine';
import { Decimal, formatDecimal } from '../shared/money/decimal.js';
import { resolveFactPath } from './fact-path.js';
import { DECIMAL_OPERATORS, evaluateDecimal, isDecimalOperator, type DecimalOperator } from './operators.js';
import type { ConditionDefinition, LeafCondition, RatingInput, RuleDefinition, RuleEventDefinition } from './types.js';

/** The facts handed to json-rules-engine: plain data, decimals as strings. */
export interface SelectionFacts {
  event: { meter: string; quantity: string; timestamp: string; dimensions: Record<string, string>; values: Record<string, string> };
  customer: { id: string; externalId: string; metadata: Record<string, string> };
  plan: { code: string; version: number } | null;
  period: { quantity: string };
}

export interface FiredRule {
  name: string;
  event: RuleEventDefinition;
}

export interface Selection {
  fired: FiredRule[];
  /** Interval of period.quantity over which the selection holds; null when rules do not read it. */
  periodValidity: { from: Decimal; to: Decimal | null } | null;
}

/** One fact path the rules read, and how: as a decimal compared with thresholds, or as a value. */
interface FactRead {
  fact: LeafCondition['fact'];
  path: string;
  comparisons: Array<{ op: DecimalOperator; value: Decimal }> | null;
}

function leaves(c: ConditionDefinition, out: LeafCondition[] = []): LeafCondition[] {
  if ('all' in c) c.all.forEach((x) => leaves(x, out));
  else if ('any' in c) c.any.forEach((x) => leaves(x, out));
  else if ('not' in c) leaves(c.not, out);
  else out.push(c);
  return out;
}

export function toSelectionFacts(input: RatingInput): SelectionFacts {
  const values: Record<string, string> = {};
  for (const [k, v] of Object.entries(input.event.values)) values[k] = formatDecimal(v);
  return {
    event: {
      meter: input.event.meter,
      quantity: formatDecimal(input.event.quantity),
      timestamp: input.event.timestamp.toISOString(),
      dimensions: { ...input.event.dimensions },
      values,
    },
    customer: { id: input.customer.id, externalId: input.customer.externalId, metadata: { ...input.customer.metadata } },
    plan: input.plan && { code: input.plan.code, version: input.plan.version },
    period: { quantity: formatDecimal(input.period.quantity) },
  };
}

const MAX_CACHE = 50_000;

/**
 * Rule selection for one rule-set version: json-rules-engine decides which rules fire, built once
 * and memoised. The memo key is made of the values of exactly the fact paths the rules read —
 * for decimal facts, only which side of each threshold the value is on — so two events with the
 * same key select the same rules, and a warm selection costs a few property reads.
 */
export class RuleSelector {
  private readonly engine: Engine;
  private readonly reads: FactRead[];
  private readonly periodThresholds: Array<{ op: DecimalOperator; value: Decimal }> | null;
  private readonly order = new Map<string, number>();
  private readonly priorities = new Map<string, number>();
  private readonly cache = new Map<string, FiredRule[]>();
  /** Engine runs under way, so a burst of identical misses runs the engine once. */
  private readonly running = new Map<string, Promise<FiredRule[]>>();

  constructor(rules: RuleDefinition[]) {
    this.engine = createEngine(rules);
    rules.forEach((r, i) => {
      this.order.set(r.name, i);
      this.priorities.set(r.name, r.priority ?? 1);
    });
    const byPath = new Map<string, FactRead>();
    for (const leaf of rules.flatMap((r) => leaves(r.conditions))) {
      const id = `${leaf.fact}|${leaf.path ?? ''}`;
      const read = byPath.get(id) ?? { fact: leaf.fact, path: leaf.path ?? '$', comparisons: [] };
      if (read.comparisons && isDecimalOperator(leaf.operator) && typeof leaf.value === 'string') {
        read.comparisons.push({ op: leaf.operator, value: new Decimal(leaf.value) });
      } else {
        read.comparisons = null;
      }
      byPath.set(id, read);
    }
    this.reads = [...byPath.values()];
    this.readsContextOnly = this.reads.every((r) => (r.fact === 'event' ? /^\$\.(meter|dimensions)(\.|\[|$)/.test(r.path) : r.fact === 'customer' || r.fact === 'plan'));
    const period = this.reads.find((r) => r.fact === 'period' && r.path === '$.quantity');
    this.periodThresholds = period ? (period.comparisons ?? []) : null;
  }

  /**
   * True when selection reads only the event's meter and dimensions, the customer and the plan:
   * nothing of the event's figures (quantity, timestamp, values) nor the period. Its selection
   * then holds for every event with the same meter, dimensions, customer and plan.
   */
  readonly readsContextOnly: boolean;

  /** True when selection depends on the period-to-date quantity. */
  get readsPeriod(): boolean {
    return this.periodThresholds !== null;
  }

  /** Selects the rules for these facts, from the memo when it can. */
  async select(facts: SelectionFacts, key = this.keyOf(facts)): Promise<Selection> {
    let fired = this.cache.get(key);
    if (!fired) {
      let pending = this.running.get(key);
      if (!pending) {
        pending = this.run(facts).finally(() => this.running.delete(key));
        this.running.set(key, pending);
      }
      fired = await pending;
      if (this.cache.size >= MAX_CACHE) this.cache.clear();
      this.cache.set(key, fired);
    }
    return { fired, periodValidity: this.periodValidity(facts.period.quantity) };
  }

  /** Synchronous selection when the memo has the answer; undefined otherwise. */
  selectCached(facts: SelectionFacts): Selection | undefined {
    const fired = this.cache.get(this.keyOf(facts));
    return fired && { fired, periodValidity: this.periodValidity(facts.period.quantity) };
  }

  /**
   * The memo key straight from a rating input, without building the facts: the input's objects
   * have the same paths, and their decimals and dates print as the facts' strings do.
   */
  keyOfInput(input: RatingInput): string {
    return this.keyOf(input as unknown as SelectionFacts);
  }

  /** Memoised selection for a rating input, or undefined when it has to run the engine. */
  lookup(input: RatingInput, key = this.keyOfInput(input)): Selection | undefined {
    const fired = this.cache.get(key);
    return fired && { fired, periodValidity: this.periodValidity(input.period.quantity) };
  }

  /** Plain json-rules-engine evaluation, without the memo. */
  async run(facts: SelectionFacts): Promise<FiredRule[]> {
    const { results } = await this.engine.run(facts as unknown as Record<string, unknown>);
    return results
      .map((r) => ({ name: r.name, event: r.event as RuleEventDefinition }))
      .sort((a, b) => this.priorities.get(b.name)! - this.priorities.get(a.name)! || this.order.get(a.name)! - this.order.get(b.name)!);
  }

  keyOf(facts: SelectionFacts): string {
    let key = '';
    for (const read of this.reads) {
      const value = resolveFactPath(facts[read.fact], read.path);
      if (read.comparisons) {
        for (const c of read.comparisons) key += evaluateDecimal(c.op, value, c.value) ? '1' : '0';
        key += '\u0001';
      } else {
        key += (value === undefined ? '\u0002' : JSON.stringify(value)) + '\u0001';
      }
    }
    return key;
  }

  /** The interval of period.quantity values on the same side of every threshold as this one. */
  private periodValidity(quantity: Decimal | string): Selection['periodValidity'] {
    if (this.periodThresholds === null) return null;
    const q = new Decimal(quantity);
    let from = new Decimal(0);
    let to: Decimal | null = null;
    const eps = new Decimal('1e-9');
    for (const { op, value } of this.periodThresholds) {
      // Each threshold splits the line where the comparison's outcome changes.
      const inclusiveBelow = op === 'decimalLessThanInclusive' || op === 'decimalGreaterThan' || op === 'decimalEqual';
      const cuts = op === 'decimalEqual' ? [value.minus(eps), value] : [inclusiveBelow ? value : value.minus(eps)];
      for (const cut of cuts) {
        if (q.lessThanOrEqualTo(cut)) to = to === null ? cut : Decimal.min(to, cut);
        else from = Decimal.max(from, cut.plus(eps));
      }
    }
    return { from, to };
  }
}

function createEngine(rules: RuleDefinition[]): Engine {
  const engine = new Engine([], { allowUndefinedFacts: true, pathResolver: resolveFactPath });
  for (const name of Object.keys(DECIMAL_OPERATORS) as DecimalOperator[]) {
    engine.addOperator(name, (fact: unknown, value: unknown) => evaluateDecimal(name, fact, value));
  }
  for (const rule of rules) {
    engine.addRule({
      name: rule.name,
      priority: rule.priority ?? 1,
      conditions: rule.conditions as RuleProperties['conditions'],
      event: rule.event as RuleProperties['event'],
    });
  }
  return engine;
}
