import { Kind, parse, visit, type DocumentNode } from 'graphql';
import { describe, expect, it } from 'vitest';
import { findUnsafeStrings, MAX_UNSAFE_PROBLEMS } from '../../src/graphql/unsafe-strings.js';
import { unsafeTextProblem } from '../../src/shared/validation.js';

const NUL = '\u0000';
const HIGH = '\uD83D'; // the first half of an emoji, alone
const LOW = '\uDE00'; // the second half, alone
const EMOJI = '\uD83D\uDE00';

const RECORD = parse(`mutation($input: RecordUsageInput!) { recordUsage(input: $input) { status } }`);

/** A document whose string literals are replaced as `replace` says (the parser refuses lone surrogates, other producers may not). */
function withStrings(source: string, replace: (value: string) => string): DocumentNode {
  return visit(parse(source), { StringValue: (node) => ({ ...node, value: replace(node.value) }) });
}

const paths = (problems: Array<{ path: string }>) => problems.map((p) => p.path);

describe('unsafe text', () => {
  it('is NUL or a lone surrogate; paired surrogates and other control characters are text', () => {
    for (const bad of [NUL, `a${NUL}b`, HIGH, LOW, `x${HIGH}`, `${LOW}x`, `${LOW}${HIGH}`, `${EMOJI}${HIGH}`]) expect(unsafeTextProblem(bad), JSON.stringify(bad)).toBeDefined();
    for (const good of ['', 'gpt-4o', EMOJI, `${EMOJI}${EMOJI}`, 'tab\there', '\u0001\u001f', 'é漢字', '\uFFFD']) expect(unsafeTextProblem(good), JSON.stringify(good)).toBeUndefined();
    expect(unsafeTextProblem(NUL)).toMatch(/NUL/);
    expect(unsafeTextProblem(HIGH)).toMatch(/surrogate/);
  });
});

describe('findUnsafeStrings in variables', () => {
  it('finds nothing in a clean operation', () => {
    const variables = { input: { customerId: 'c', meterCode: 'llm_tokens', quantity: '12', dimensions: { model: `gpt-4o ${EMOJI}` }, values: { cost: '0.5' }, idempotencyKey: 'k' } };
    expect(findUnsafeStrings(RECORD, variables)).toEqual([]);
    expect(findUnsafeStrings(RECORD, undefined)).toEqual([]);
    expect(findUnsafeStrings(RECORD, null)).toEqual([]);
  });

  it('names the path of every unsafe string, inside JSON-object scalars and lists too', () => {
    const variables = {
      input: {
        idempotencyKey: `k${NUL}`,
        dimensions: { model: `gpt${HIGH}`, tokenType: 'input' },
        values: { note: LOW },
        metadata: { nested: { deeper: [`ok`, `bad${NUL}`] } },
      },
      after: NUL,
    };
    const problems = findUnsafeStrings(RECORD, variables);
    expect(paths(problems)).toEqual(['input.idempotencyKey', 'input.dimensions.model', 'input.values.note', 'input.metadata.nested.deeper.1', 'after']);
    expect(problems[0]!.message).toMatch(/NUL/);
    expect(problems[1]!.message).toMatch(/surrogate/);
  });

  it('names events of a batch by their index', () => {
    const events = Array.from({ length: 5 }, (_, i) => ({ idempotencyKey: `k${i}`, dimensions: { model: i === 3 ? `m${NUL}` : 'm' } }));
    expect(paths(findUnsafeStrings(RECORD, { input: { events } }))).toEqual(['input.events.3.dimensions.model']);
  });

  it('reports an unsafe key at its object, without echoing it', () => {
    const problems = findUnsafeStrings(RECORD, { input: { dimensions: { [`mo${NUL}del`]: 'x', [`${HIGH}`]: `y${NUL}` } } });
    expect(problems).toEqual([
      { path: 'input.dimensions', message: expect.stringMatching(/^has a key that contains NUL/) },
      { path: 'input.dimensions', message: expect.stringMatching(/^has a key that contains unpaired UTF-16 surrogates/) },
      { path: 'input.dimensions.\uFFFD', message: expect.stringMatching(/NUL/) },
    ]);
    for (const p of problems) expect(unsafeTextProblem(p.path)).toBeUndefined();
  });

  it('looks at variables the operation does not use, and ignores numbers, booleans and nulls', () => {
    expect(paths(findUnsafeStrings(RECORD, { unused: { deep: NUL }, n: 1, b: true, z: null }))).toEqual(['unused.deep']);
  });

  it('walks any depth without recursion, and survives cycles', () => {
    let deep: unknown = NUL;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    const problems = findUnsafeStrings(RECORD, { input: deep as never });
    expect(problems).toHaveLength(1);
    expect(problems[0]!.path.split('.')).toHaveLength(100_001);
    const cyclic: Record<string, unknown> = { name: NUL };
    cyclic.self = cyclic;
    expect(paths(findUnsafeStrings(RECORD, { input: cyclic }))).toEqual(['input.name']);
  });

  it(`stops at ${MAX_UNSAFE_PROBLEMS} problems`, () => {
    const many = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`k${i}`, NUL]));
    const problems = findUnsafeStrings(RECORD, { input: many });
    expect(problems).toHaveLength(MAX_UNSAFE_PROBLEMS);
    expect(problems[0]!.path).toBe('input.k0');
  });
});

describe('findUnsafeStrings in the document', () => {
  it('finds NUL in string and block string literals (escaped or raw), inside object and list literals, naming the argument path', () => {
    const doc = parse(`mutation {
      recordUsage(input: { customerId: "c", meterCode: "m\\u0000", dimensions: { model: "gpt\\u0000" }, idempotencyKey: "k" }) { status }
      recordUsageBatch(input: { events: [{ idempotencyKey: "ok" }, { idempotencyKey: """block${NUL}""" }] }) { acceptedCount }
    }`);
    expect(paths(findUnsafeStrings(doc, {}))).toEqual(['input.meterCode', 'input.dimensions.model', 'input.events.1.idempotencyKey']);
  });

  it('finds lone surrogates in literals, in nested field arguments, directive arguments and variable defaults', () => {
    const doc = withStrings(
      `query($key: String = "default") {
        customer(id: "c") { wallets(after: "cursor") @skip(if: false) { id } }
        ruleSets(key: "rules") @deprecatedLike(reason: "why") { key }
      }`,
      (v) => `${v}${HIGH}`,
    );
    expect(paths(findUnsafeStrings(doc, {}))).toEqual(['key', 'id', 'after', 'key', 'reason']);
  });

  it('leaves enums, numbers, booleans, nulls and variable references alone, and reports the document before the variables', () => {
    const doc = parse(`query($from: DateTimeISO!) { usage(customerId: "c\\u0000", from: $from, to: "2026-01-01T00:00:00Z", granularity: DAY, groupBy: { meter: true, dimensions: [] }) { customerId } }`);
    const problems = findUnsafeStrings(doc, { from: `2026${NUL}` });
    expect(paths(problems)).toEqual(['customerId', 'from']);
    const clean = visit(doc, { StringValue: (node) => ({ ...node, value: 'x' }) });
    expect(findUnsafeStrings(clean, { from: '2026-01-01T00:00:00Z' })).toEqual([]);
    expect(clean.definitions[0]!.kind).toBe(Kind.OPERATION_DEFINITION);
  });
});
