import { Ajv, type ErrorObject } from 'ajv';
import { findNodeAtLocation, getNodeValue, parseTree, printParseErrorCode, type Node, type ParseError } from 'jsonc-parser';
import schema from '../../rules/rule-set.schema.json' with { type: 'json' };
import { Decimal, parseDecimal } from '../shared/money/decimal.js';
import { contentHash } from './canonical-json.js';
import { CHARGE_MODELS, chargeModelProblems } from './charge-models/index.js';
import { compileRuleSet, type CompiledRuleSet } from './compile.js';
import { costBookProblems } from './cost-book.js';
import { staleFigures } from './description-figures.js';
import { parseFactPath } from './fact-path.js';
import { isDecimalOperator } from './operators.js';
import type { ConditionDefinition, RuleSetDefinition, TierDefinition } from './types.js';

/** One fault in a rule file, located for an editor. */
export interface RuleFileProblem {
  /** JSON pointer of the faulty value ("" for the whole document). */
  pointer: string;
  line: number;
  column: number;
  message: string;
}

export type RuleSetValidation =
  | { ok: true; definition: RuleSetDefinition; hash: string; compiled: CompiledRuleSet }
  | { ok: false; problems: RuleFileProblem[]; key?: string; version?: number };

const JSON_ERRORS: Record<string, string> = {
  InvalidSymbol: 'unexpected character',
  InvalidNumberFormat: 'malformed number',
  PropertyNameExpected: 'a property name in double quotes was expected (no trailing commas)',
  ValueExpected: 'a value was expected',
  ColonExpected: 'a colon was expected',
  CommaExpected: 'a comma was expected',
  CloseBraceExpected: 'a closing brace was expected',
  CloseBracketExpected: 'a closing bracket was expected',
  EndOfFileExpected: 'nothing may follow the document',
  InvalidCommentToken: 'comments are not allowed',
  UnexpectedEndOfString: 'a string is not closed',
  UnexpectedEndOfComment: 'a comment is not closed',
  InvalidUnicode: 'invalid unicode escape',
  InvalidEscapeCharacter: 'invalid escape character',
  InvalidCharacter: 'invalid character',
};

const ajv = new Ajv({ allErrors: true, discriminator: true, strict: false });
const validateSchema = ajv.compile(schema);

/** Turns offsets into 1-based line and column. */
class Locator {
  private readonly starts: number[] = [0];
  constructor(text: string) {
    for (let i = 0; i < text.length; i++) if (text[i] === '\n') this.starts.push(i + 1);
  }
  at(offset: number): { line: number; column: number } {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - this.starts[lo]! + 1 };
  }
}

const toPath = (pointer: string): Array<string | number> =>
  pointer === ''
    ? []
    : pointer
        .slice(1)
        .split('/')
        .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
        .map((s) => (/^[0-9]+$/.test(s) ? Number(s) : s));

const pointerOf = (path: Array<string | number>): string => path.map((s) => `/${String(s).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');

/**
 * Validates the text of one rule-set file: JSON syntax, the JSON Schema, then what a schema
 * cannot say (ordered tiers, unique ids, safe fact paths, operators that fit their values), and
 * finally builds it. Every problem comes with its JSON pointer, line and column.
 */
export function validateRuleSetText(text: string, expected: { key?: string; version?: number } = {}): RuleSetValidation {
  const limit = beyondLimits(text);
  if (limit) return { ok: false, problems: [limit] };
  try {
    return validateWithinLimits(text, expected);
  } catch (err) {
    // Whatever a file holds, it is refused with a reason; it never takes the loader down.
    return { ok: false, problems: [{ pointer: '', line: 1, column: 1, message: `the file could not be validated: ${(err as Error).message}` }] };
  }
}

/** Largest rule file accepted, in characters. */
export const MAX_RULE_FILE_CHARS = 1024 * 1024;
/** Deepest nesting of JSON objects and arrays accepted (a rule set needs about a dozen). */
export const MAX_JSON_DEPTH = 48;
/** Deepest nesting of all / any / not in one rule's conditions. */
export const MAX_CONDITION_DEPTH = 16;

/**
 * Refuses, before parsing, what would make parsing or validation itself fail: a file too large,
 * one nested too deep (parsers and validators recurse), or one with NUL bytes (not text).
 */
function beyondLimits(text: string): RuleFileProblem | undefined {
  const at = (offset: number, message: string): RuleFileProblem => ({ pointer: '', ...new Locator(text.slice(0, offset + 1)).at(offset), message });
  if (text.length > MAX_RULE_FILE_CHARS) return { pointer: '', line: 1, column: 1, message: `the file is larger than ${MAX_RULE_FILE_CHARS} characters` };
  const nul = text.indexOf('\0');
  if (nul >= 0) return at(nul, 'the file is not text (it holds a NUL byte)');
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
    } else if (ch === '"') inString = true;
    else if (ch === '{' || ch === '[') {
      if (++depth > MAX_JSON_DEPTH) return at(i, `objects and lists are nested more than ${MAX_JSON_DEPTH} deep`);
    } else if (ch === '}' || ch === ']') depth--;
  }
  return undefined;
}

function validateWithinLimits(text: string, expected: { key?: string; version?: number }): RuleSetValidation {
  const locator = new Locator(text);
  const syntax: ParseError[] = [];
  const tree = parseTree(text, syntax, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  if (syntax.length > 0 || !tree) {
    // Every syntax fault the parser recovers from, once per place.
    const offsets = new Set<number>();
    const problems = syntax
      .filter((e) => !offsets.has(e.offset) && offsets.add(e.offset))
      .map((e) => ({ pointer: '', ...locator.at(e.offset), message: `invalid JSON: ${JSON_ERRORS[printParseErrorCode(e.error)] ?? printParseErrorCode(e.error)}` }));
    if (problems.length === 0) problems.push({ pointer: '', ...locator.at(0), message: 'invalid JSON: the file is empty' });
    return { ok: false, problems };
  }
  const at = (pointer: string, message: string): RuleFileProblem => {
    const node = findNodeAtLocation(tree, toPath(pointer)) ?? nearest(tree, toPath(pointer));
    return { pointer, ...locator.at(node.offset), message };
  };
  const value = getNodeValue(tree) as RuleSetDefinition;
  const ident = { key: typeof value?.key === 'string' ? value.key : undefined, version: typeof value?.version === 'number' ? value.version : undefined };

  if (!validateSchema(value)) {
    // Report everything in one pass: the schema's faults, and those the semantic checks can still
    // find in a document whose shape is partly wrong (they may stumble on it; then the schema's stand).
    const problems = schemaProblems(validateSchema.errors ?? [], value);
    const pointers = new Set(problems.map((p) => p.pointer));
    try {
      for (const p of semanticProblems(value, expected)) if (!pointers.has(p.pointer)) problems.push(p);
    } catch {
      // The shape is too far off for the semantic checks.
    }
    return { ok: false, ...ident, problems: problems.map((p) => at(p.pointer, p.message)) };
  }
  const problems = semanticProblems(value, expected).map((p) => at(p.pointer, p.message));
  if (problems.length > 0) return { ok: false, ...ident, problems };
  const hash = contentHash(value);
  try {
    return { ok: true, definition: value, hash, compiled: compileRuleSet(value, hash) };
  } catch (err) {
    return { ok: false, ...ident, problems: [at('/rules', `the rules do not build: ${(err as Error).message}`)] };
  }
}

/** Line and column of the value at a JSON pointer in a rule file's text (of its nearest ancestor when absent). */
export function locatePointer(text: string, pointer: string): { line: number; column: number } {
  const tree = parseTree(text);
  if (!tree) return { line: 1, column: 1 };
  const node = findNodeAtLocation(tree, toPath(pointer)) ?? nearest(tree, toPath(pointer));
  return new Locator(text).at(node.offset);
}

function nearest(tree: Node, path: Array<string | number>): Node {
  for (let n = path.length - 1; n >= 0; n--) {
    const node = findNodeAtLocation(tree, path.slice(0, n));
    if (node) return node;
  }
  return tree;
}

/** The value at a JSON pointer, by own properties only; undefined where there is none. */
function valueAt(doc: unknown, pointer: string): unknown {
  let current = doc;
  for (const key of toPath(pointer)) {
    if (current === null || typeof current !== 'object' || !Object.hasOwn(current, key)) return undefined;
    current = (current as Record<string | number, unknown>)[key];
  }
  return current;
}

/** Reduces ajv's errors to one readable message per place, preferring the most specific. */
function schemaProblems(errors: ErrorObject[], doc: unknown): Array<{ pointer: string; message: string }> {
  const out = new Map<string, string>();
  for (const e of errors) {
    if (e.keyword === 'if' || (e.keyword === 'oneOf' && errors.some((o) => o !== e && o.instancePath.startsWith(e.instancePath)))) continue;
    let pointer = e.instancePath;
    let message: string;
    if (e.keyword === 'required') message = `is missing the required property "${(e.params as { missingProperty: string }).missingProperty}"`;
    else if (e.keyword === 'additionalProperties') {
      const prop = (e.params as { additionalProperty: string }).additionalProperty;
      pointer = `${pointer}/${prop}`;
      message = `"${prop}" is not allowed here`;
    } else if (e.keyword === 'pattern' && String(e.schemaPath).includes('amount')) message = 'must be a non-negative decimal written as a string, e.g. "0.0025"';
    else if (e.keyword === 'pattern' && String(e.schemaPath).includes('leaf/properties/path')) {
      // ajv fills e.data only in verbose mode: the path is read from the document itself.
      const parsed = parseFactPath(String(valueAt(doc, e.instancePath)));
      message = `unsafe fact path: ${'error' in parsed ? parsed.error : 'not allowed'}`;
    }
    else if (e.keyword === 'not') message = 'must be greater than zero'; // the schema's one `not`: positiveAmount
    else if (e.keyword === 'enum') message = `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
    else if (e.keyword === 'const') message = `must be ${JSON.stringify((e.params as { allowedValue: unknown }).allowedValue)}`;
    else if (e.keyword === 'discriminator') message = describeDiscriminator(e);
    else message = e.message ?? 'is invalid';
    if (!out.has(pointer)) out.set(pointer, message);
  }
  return [...out].map(([pointer, message]) => ({ pointer, message }));
}

const listed = (names: string[]): string => names.map((n) => JSON.stringify(n)).join(', ').replace(/, ([^,]*)$/, ' or $1');

function describeDiscriminator(e: ErrorObject): string {
  const { tag, tagValue } = e.params as { tag: string; tagValue: unknown };
  const known: Record<string, string> = {
    type: '"charge", "adjustment" or "refuse"',
    model: listed(Object.keys(CHARGE_MODELS)),
    kind: '"markup", "discount" or "multiplier"',
  };
  return tagValue === undefined ? `needs "${tag}"` : `unknown ${tag} ${JSON.stringify(tagValue)}: use ${known[tag] ?? 'a known value'}`;
}

const isPowerOfTen = (text: string) => /^10*$/.test(text);

function semanticProblems(def: RuleSetDefinition, expected: { key?: string; version?: number }): Array<{ pointer: string; message: string }> {
  const problems: Array<{ pointer: string; message: string }> = [];
  const fail = (path: Array<string | number>, message: string) => problems.push({ pointer: pointerOf(path), message });
  if (expected.key !== undefined && def.key !== expected.key) fail(['key'], `must be "${expected.key}", the name of its folder`);
  if (expected.version !== undefined && def.version !== expected.version) fail(['version'], `must be ${expected.version}, the number in its file name`);
  if (Number.isNaN(Date.parse(def.effectiveFrom))) fail(['effectiveFrom'], 'is not a valid instant');
  if (def.minimumSpend !== undefined && def.maximumSpend !== undefined && new Decimal(def.minimumSpend).greaterThan(def.maximumSpend)) {
    fail(['maximumSpend'], 'must not be less than minimumSpend');
  }
  if (def.purpose === 'cost') costBookProblems(def, fail);

  const ruleNames = new Set<string>();
  const chargeIds = new Set<string>();
  const adjustmentIds = new Set<string>();
  // A rule whose shape is wrong (the schema says how) does not hide the faults of the others.
  const eachRule = (fn: (rule: RuleSetDefinition['rules'][number], r: number) => void) =>
    (Array.isArray(def.rules) ? def.rules : []).forEach((rule, r) => {
      try {
        fn(rule, r);
      } catch {
        // Too far off for these checks; the schema's faults stand for it.
      }
    });
  eachRule((rule, r) => {
    if (ruleNames.has(rule.name)) fail(['rules', r, 'name'], `repeats the rule name "${rule.name}"`);
    ruleNames.add(rule.name);
    checkConditions(rule.conditions, ['rules', r, 'conditions'], fail);
    const ev = rule.event;
    const at = (...rest: Array<string | number>) => ['rules', r, 'event', 'params', ...rest];
    if (ev.type !== 'refuse' && ev.params.description) {
      const stale = staleFigures(ev.params.description, { conditions: rule.conditions, event: ev });
      if (stale.length > 0) {
        fail(at('description'), `states ${stale.map((s) => `"${s}"`).join(', ')}, which ${stale.length === 1 ? 'is' : 'are'} not a figure of this ${ev.type}: a description repeats only the rule's own figures (prices, tier bounds, per, percent), so it cannot go stale`);
      }
    }
    if (ev.type === 'charge') {
      const p = ev.params;
      if (chargeIds.has(p.id)) fail(at('id'), `repeats the charge id "${p.id}"`);
      chargeIds.add(p.id);
      if ('per' in p && p.per !== undefined && !isPowerOfTen(p.per)) fail(at('per'), 'must be a power of ten ("1", "1000", "1000000"…)');
      if ('tiers' in p) checkTiers(p.tiers as TierDefinition[], at('tiers'), fail);
      for (const [param, message] of chargeModelProblems(p)) fail(at(param), message);
    } else if (ev.type === 'adjustment') {
      const p = ev.params;
      if (adjustmentIds.has(p.id) || chargeIds.has(p.id)) fail(at('id'), `repeats the id "${p.id}"`);
      adjustmentIds.add(p.id);
      if (p.kind === 'discount' && new Decimal(p.percent).greaterThan(100)) fail(at('percent'), 'a discount is at most 100 percent');
    }
  });
  eachRule((rule, r) => {
    if (rule.event.type !== 'adjustment') return;
    rule.event.params.appliesTo?.forEach((id, i) => {
      if (!chargeIds.has(id)) fail(['rules', r, 'event', 'params', 'appliesTo', i], `no charge has the id "${id}"`);
    });
  });
  return problems;
}

function checkTiers(tiers: Array<{ upTo: string | null }>, path: Array<string | number>, fail: (p: Array<string | number>, m: string) => void): void {
  let previous: Decimal | null = new Decimal(0);
  tiers.forEach((tier, i) => {
    const last = i === tiers.length - 1;
    if (tier.upTo === null) {
      if (!last) fail([...path, i, 'upTo'], 'only the last tier may be open (upTo null)');
      previous = null;
      return;
    }
    if (last) fail([...path, i, 'upTo'], 'the last tier must be open: set upTo to null');
    const upTo = new Decimal(tier.upTo);
    if (previous !== null && !upTo.greaterThan(previous)) {
      fail([...path, i, 'upTo'], previous.isZero() ? 'must be greater than zero' : `must be greater than the previous tier's upTo (${previous.toFixed()}): tiers are ordered and do not overlap`);
    }
    previous = upTo;
  });
}

function checkConditions(c: ConditionDefinition, path: Array<string | number>, fail: (p: Array<string | number>, m: string) => void, depth = 1): void {
  if (depth > MAX_CONDITION_DEPTH) return fail(path, `conditions are nested more than ${MAX_CONDITION_DEPTH} deep (all / any / not)`);
  if ('all' in c) return c.all.forEach((x, i) => checkConditions(x, [...path, 'all', i], fail, depth + 1));
  if ('any' in c) return c.any.forEach((x, i) => checkConditions(x, [...path, 'any', i], fail, depth + 1));
  if ('not' in c) return checkConditions(c.not, [...path, 'not'], fail, depth + 1);
  const parsed = parseFactPath(c.path ?? '');
  if ('error' in parsed) fail([...path, 'path'], `unsafe fact path: ${parsed.error}`);
  const v = c.value;
  if (isDecimalOperator(c.operator)) {
    if (typeof v !== 'string' || !parseDecimal(v)) fail([...path, 'value'], `${c.operator} compares with a decimal written as a string, e.g. "1000000"`);
  } else if (c.operator === 'in' || c.operator === 'notIn') {
    if (!Array.isArray(v)) fail([...path, 'value'], `${c.operator} needs a list of strings`);
  } else if (Array.isArray(v)) {
    fail([...path, 'value'], `${c.operator} compares with one value, not a list`);
  }
}
