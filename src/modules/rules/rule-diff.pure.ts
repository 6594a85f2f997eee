import { canonicalJson } from '../../rating/canonical-json.js';
import type { ConditionDefinition, RuleDefinition, RuleSetDefinition } from '../../rating/types.js';
import { parseDecimal } from '../../shared/money/decimal.js';

/** One figure that changed: a price, a bound, a fee; null on the side that does not have it. */
export interface FigureChange {
  what: string;
  from: string | null;
  to: string | null;
}

/** A tier added, removed or moved (its bound changed), named by its bound (`upTo`, null when open). */
export interface TierChange {
  change: 'added' | 'removed' | 'moved';
  /** Its position (1-based) on the side that has it: the new side unless removed. */
  tier: number;
  upTo: { from: string | null; to: string | null };
  /** The tier's figures (unitPrice, flatFee, rate…) on the side that has it: the new side unless removed. */
  figures: Record<string, string>;
}

/** What one charge (price component, by its id) looks like on each side, and what changed. */
export interface ChargeDiff {
  id: string;
  change: 'added' | 'removed' | 'changed';
  rule: string;
  meter: string | null;
  /** The conditions other than the meter, e.g. `model = gpt-4o`. */
  dimensions: string[];
  model: { from: string | null; to: string | null };
  /** Prices are quoted per this many units (the new side's, unless removed). */
  per: string | null;
  /** Prices and other figures, tier figures included (`tier 2 (up to 100000000) unitPrice`). */
  figures: FigureChange[];
  tiers: TierChange[];
}

export interface AdjustmentDiff {
  id: string;
  change: 'added' | 'removed' | 'changed';
  rule: string;
  figures: FigureChange[];
}

export interface RuleSetDiff {
  key: string;
  from: { version: number; effectiveFrom: string } | null;
  to: { version: number; effectiveFrom: string } | null;
  rules: { added: string[]; removed: string[]; changed: string[] };
  /** Top-level figures: currency, minimumSpend, maximumSpend, unmatched. */
  figures: FigureChange[];
  charges: ChargeDiff[];
  adjustments: AdjustmentDiff[];
}

/** A charge or adjustment as found in a version, with the rule that holds it. */
interface Component {
  rule: RuleDefinition;
  params: Record<string, unknown>;
}

const NOT_FIGURES = new Set(['id', 'description', 'model', 'tiers', 'kind']);
/** The rule set's own figures, beside its rules. */
const TOP_LEVEL: Array<keyof RuleSetDefinition> = ['currency', 'minimumSpend', 'maximumSpend', 'unmatched'];

/** The price changes from one version of a rule set to another (either may be absent: added or removed). */
export function diffRuleSets(key: string, a: RuleSetDefinition | null, b: RuleSetDefinition | null): RuleSetDiff {
  const rulesA = new Map((a?.rules ?? []).map((r) => [r.name, r]));
  const rulesB = new Map((b?.rules ?? []).map((r) => [r.name, r]));
  const rules = {
    added: [...rulesB.keys()].filter((n) => !rulesA.has(n)),
    removed: [...rulesA.keys()].filter((n) => !rulesB.has(n)),
    changed: [...rulesB.keys()].filter((n) => rulesA.has(n) && canonicalJson(rulesA.get(n)) !== canonicalJson(rulesB.get(n))),
  };
  const figures = a && b ? compareFigures('', pick(a, TOP_LEVEL), pick(b, TOP_LEVEL)) : [];

  const chargesA = components(a, 'charge');
  const chargesB = components(b, 'charge');
  const charges: ChargeDiff[] = [];
  for (const id of union(chargesA, chargesB)) {
    const x = chargesA.get(id);
    const y = chargesB.get(id);
    const shown = (y ?? x)!;
    const { meter, dimensions } = selection(shown.rule.conditions);
    const tierChanges = tiersOf(x) || tiersOf(y) ? compareTiers(tiersOf(x) ?? [], tiersOf(y) ?? []) : { figures: [], tiers: [] };
    const diff: ChargeDiff = {
      id,
      change: !x ? 'added' : !y ? 'removed' : 'changed',
      rule: shown.rule.name,
      meter,
      dimensions,
      model: { from: x ? String(x.params.model) : null, to: y ? String(y.params.model) : null },
      per: text(shown.params.per),
      figures: [...compareFigures('', figuresOf(x), figuresOf(y)), ...tierChanges.figures],
      tiers: tierChanges.tiers,
    };
    const conditionsMoved = x && y && canonicalJson(x.rule.conditions) !== canonicalJson(y.rule.conditions);
    if (conditionsMoved) {
      const before = selection(x.rule.conditions);
      diff.figures.unshift({ what: 'applies to', from: describeSelection(before.meter, before.dimensions), to: describeSelection(meter, dimensions) });
    }
    if (diff.change !== 'changed' || diff.model.from !== diff.model.to || diff.figures.length > 0 || diff.tiers.length > 0) charges.push(diff);
  }

  const adjA = components(a, 'adjustment');
  const adjB = components(b, 'adjustment');
  const adjustments: AdjustmentDiff[] = [];
  for (const id of union(adjA, adjB)) {
    const x = adjA.get(id);
    const y = adjB.get(id);
    const withKind = (c: Component | undefined) => (c ? { kind: String(c.params.kind), ...figuresOf(c), ...(c.params.appliesTo ? { appliesTo: (c.params.appliesTo as string[]).join(', ') } : {}) } : {});
    const changed = compareFigures('', withKind(x), withKind(y));
    if (!x || !y || changed.length > 0) adjustments.push({ id, change: !x ? 'added' : !y ? 'removed' : 'changed', rule: (y ?? x)!.rule.name, figures: changed });
  }

  return {
    key,
    from: a && { version: a.version, effectiveFrom: a.effectiveFrom },
    to: b && { version: b.version, effectiveFrom: b.effectiveFrom },
    rules,
    figures,
    charges,
    adjustments,
  };
}

/** Whether a diff holds any change at all. */
export const hasChanges = (d: RuleSetDiff): boolean =>
  !d.from || !d.to || d.rules.added.length + d.rules.removed.length + d.rules.changed.length + d.figures.length + d.charges.length + d.adjustments.length > 0;

/** The diff in words, one line per change, for code review. */
export function formatDiff(d: RuleSetDiff): string[] {
  const v = (s: { version: number; effectiveFrom: string } | null) => (s ? `v${s.version}` : 'none');
  const head = !d.from
    ? `${d.key}: new rule set, ${v(d.to)} effective ${d.to!.effectiveFrom}`
    : !d.to
      ? `${d.key}: removed (was ${v(d.from)})`
      : `${d.key}: ${v(d.from)} → ${v(d.to)}, effective ${d.to.effectiveFrom}`;
  const out = [head];
  if (d.from && d.to && !hasChanges(d)) return [`${head}: no changes`];
  for (const f of d.figures) out.push(`  ${figure(f)}`);
  for (const n of d.rules.added) out.push(`  rule added: "${n}"`);
  for (const n of d.rules.removed) out.push(`  rule removed: "${n}"`);
  for (const n of d.rules.changed) out.push(`  rule changed: "${n}"`);
  for (const c of d.charges) {
    const model = c.model.from === c.model.to ? c.model.to : c.model.from && c.model.to ? `${c.model.from} → ${c.model.to}` : (c.model.to ?? c.model.from);
    out.push(`  charge ${c.id} ${c.change} (${[describeSelection(c.meter, c.dimensions), `${model}${c.per ? ` per ${c.per}` : ''}`].join('; ')})`);
    // An added or removed charge lists its figures; a changed one, each figure's old → new.
    for (const f of c.figures) out.push(`    ${c.change === 'changed' ? figure(f) : `${f.what} ${f.to ?? f.from}`}`);
    for (const t of c.tiers) {
      const figs = Object.entries(t.figures).map(([k, val]) => `${k} ${val}`).join(', ');
      if (t.change === 'moved') out.push(`    tier ${t.tier} moved: ${bound(t.upTo.from)} → ${bound(t.upTo.to)}`);
      else out.push(`    tier ${t.tier} ${t.change}: ${bound(t.change === 'added' ? t.upTo.to : t.upTo.from)}${figs ? `, ${figs}` : ''}`);
    }
  }
  for (const a of d.adjustments) {
    out.push(`  adjustment ${a.id} ${a.change} (rule "${a.rule}")`);
    for (const f of a.figures) out.push(`    ${a.change === 'changed' ? figure(f) : `${f.what} ${f.to ?? f.from}`}`);
  }
  return out;
}

const bound = (upTo: string | null) => (upTo === null ? 'no upper bound' : `up to ${upTo}`);
const figure = (f: FigureChange) => `${f.what}: ${f.from ?? '(none)'} → ${f.to ?? '(none)'}`;
const describeSelection = (meter: string | null, dimensions: string[]) => [meter ? `meter ${meter}` : 'any meter', ...dimensions].join(', ');

function pick(def: RuleSetDefinition, keys: Array<keyof RuleSetDefinition>): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => def[k] !== undefined).map((k) => [k, def[k]]));
}

function union<T>(a: Map<string, T>, b: Map<string, T>): string[] {
  return [...new Set([...a.keys(), ...b.keys()])];
}

function components(def: RuleSetDefinition | null, type: 'charge' | 'adjustment'): Map<string, Component> {
  const out = new Map<string, Component>();
  for (const rule of def?.rules ?? []) {
    if (rule.event.type === type) out.set(rule.event.params.id, { rule, params: rule.event.params as unknown as Record<string, unknown> });
  }
  return out;
}

/** Every scalar parameter of a component but its id, description, model and tiers, as text. */
function figuresOf(c: Component | undefined): Record<string, unknown> {
  if (!c) return {};
  return Object.fromEntries(Object.entries(c.params).filter(([k]) => !NOT_FIGURES.has(k)));
}

const text = (v: unknown): string | null => (v === undefined || v === null ? null : typeof v === 'string' ? v : Array.isArray(v) ? v.join(', ') : JSON.stringify(v));

/** Equal figures are equal decimals ("2.50" and "2.5"), or equal text. */
function same(x: unknown, y: unknown): boolean {
  const a = text(x);
  const b = text(y);
  if (a === null || b === null) return a === b;
  const da = parseDecimal(a);
  const db = parseDecimal(b);
  return da && db ? da.equals(db) : a === b;
}

function compareFigures(prefix: string, a: Record<string, unknown>, b: Record<string, unknown>): FigureChange[] {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  return keys.filter((k) => !same(a[k], b[k])).map((k) => ({ what: `${prefix}${k}`, from: text(a[k]), to: text(b[k]) }));
}

type Tier = Record<string, unknown> & { upTo: string | null };

function tiersOf(c: Component | undefined): Tier[] | undefined {
  return c && Array.isArray(c.params.tiers) ? (c.params.tiers as Tier[]) : undefined;
}

const tierFigures = (t: Tier): Record<string, string> => Object.fromEntries(Object.entries(t).filter(([k]) => k !== 'upTo').map(([k, v]) => [k, text(v) ?? '']));

/**
 * Tiers are matched by their bound: a bound on both sides is the same tier (its figures
 * compared). The tiers left over are paired in order as moved (their bound changed) while both
 * sides have some; the rest were added or removed.
 */
function compareTiers(a: Tier[], b: Tier[]): { figures: FigureChange[]; tiers: TierChange[] } {
  const key = (t: Tier) => (t.upTo === null ? 'open' : parseDecimal(t.upTo)?.toFixed() ?? t.upTo);
  const inB = new Map(b.map((t, i) => [key(t), i]));
  const matched = new Map<number, number>();
  a.forEach((t, i) => {
    const j = inB.get(key(t));
    if (j !== undefined) matched.set(i, j);
  });
  const matchedB = new Set(matched.values());
  const restA = a.map((_, i) => i).filter((i) => !matched.has(i));
  const restB = b.map((_, j) => j).filter((j) => !matchedB.has(j));
  const figures: FigureChange[] = [];
  const tiers: TierChange[] = [];
  const label = (j: number) => `tier ${j + 1} (${bound(b[j]!.upTo)}) `;
  for (const [i, j] of [...matched].sort((x, y) => x[1] - y[1])) figures.push(...compareFigures(label(j), tierFigures(a[i]!), tierFigures(b[j]!)));
  const pairs = Math.min(restA.length, restB.length);
  for (let n = 0; n < pairs; n++) {
    const i = restA[n]!;
    const j = restB[n]!;
    tiers.push({ change: 'moved', tier: j + 1, upTo: { from: a[i]!.upTo, to: b[j]!.upTo }, figures: tierFigures(b[j]!) });
    figures.push(...compareFigures(label(j), tierFigures(a[i]!), tierFigures(b[j]!)));
  }
  for (const j of restB.slice(pairs)) tiers.push({ change: 'added', tier: j + 1, upTo: { from: null, to: b[j]!.upTo }, figures: tierFigures(b[j]!) });
  for (const i of restA.slice(pairs)) tiers.push({ change: 'removed', tier: i + 1, upTo: { from: a[i]!.upTo, to: null }, figures: tierFigures(a[i]!) });
  return { figures, tiers };
}

/** The meter a rule selects and its other conditions in words (`model = gpt-4o`, `tier in a, b`). */
function selection(c: ConditionDefinition): { meter: string | null; dimensions: string[] } {
  let meter: string | null = null;
  const dimensions: string[] = [];
  const walk = (x: ConditionDefinition, negated: boolean): void => {
    if ('all' in x) return x.all.forEach((y) => walk(y, negated));
    if ('any' in x) {
      dimensions.push(`any of (${x.any.map((y) => selection(y)).map((s) => describeSelection(s.meter, s.dimensions).replace(/^any meter, /, '')).join(' | ')})`);
      return;
    }
    if ('not' in x) return walk(x.not, !negated);
    const path = (x.path ?? '$').replace(/^\$\.?/, '');
    if (!negated && x.fact === 'event' && path === 'meter' && x.operator === 'equal' && typeof x.value === 'string') {
      meter = x.value;
      return;
    }
    const name = x.fact === 'event' ? path.replace(/^dimensions\./, '') : `${x.fact}.${path}`;
    dimensions.push(`${negated ? 'not ' : ''}${name} ${OPERATOR_WORDS[x.operator] ?? x.operator} ${text(x.value)}`);
  };
  walk(c, false);
  return { meter, dimensions };
}

const OPERATOR_WORDS: Record<string, string> = {
  equal: '=',
  notEqual: '≠',
  in: 'in',
  notIn: 'not in',
  decimalEqual: '=',
  decimalGreaterThan: '>',
  decimalGreaterThanInclusive: '≥',
  decimalLessThan: '<',
  decimalLessThanInclusive: '≤',
};
