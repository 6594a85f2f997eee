/**
 * Strings no layer below can store, found in a GraphQL operation before it runs.
 *
 * Contract of `findUnsafeStrings(document, variables)`:
 * - Unsafe is what `unsafeTextProblem` (src/shared/validation.ts) says: a NUL character (U+0000),
 *   which PostgreSQL `text` and `jsonb` refuse, or a lone UTF-16 surrogate, which has no UTF-8
 *   encoding. Left in, they fail deep down as INTERNAL_SERVER_ERROR, or as a retryable
 *   SERVICE_UNAVAILABLE when a usage event cannot be committed, which clients retry forever.
 * - Looked at: every string in `variables` at any depth, object keys included, JSON-object
 *   scalars (`dimensions`, `values`, `metadata`) like any other object, variables the operation
 *   does not use too; and every string literal of the document (StringValue nodes, block strings
 *   too) in field and directive arguments and in variable defaults, inside object and list
 *   literals as well. Names (fields, enums, object fields) cannot hold such characters: the
 *   lexer refuses them.
 * - Paths: a variable's name, then keys and list indexes joined by "." (`input.dimensions.model`,
 *   `input.events.3.idempotencyKey`); a literal's argument name, then the same (`input.name`);
 *   a variable default's variable name. An unsafe key is reported at its object's path, without
 *   echoing it.
 * - Returns one FieldProblem per unsafe string, document first then variables, each in order,
 *   at most MAX_UNSAFE_PROBLEMS (the walk stops there); [] for a clean operation.
 * - Pure and synchronous; iterative, so no nesting depth overflows the stack; linear in the size
 *   of the document and variables; safe on cyclic objects.
 * - The caller refuses a non-empty result before execution, for HTTP and WebSocket alike:
 *   `throw new ValidationError(problems)` (VALIDATION_FAILED, not retryable, `fields` = problems).
 */
import { Kind, visit, type DocumentNode, type ValueNode } from 'graphql';
import type { FieldProblem } from '../shared/errors.js';
import { unsafeTextProblem } from '../shared/validation.js';

/** The most problems reported for one operation: enough to fix a request, small enough to send back. */
export const MAX_UNSAFE_PROBLEMS = 20;

export function findUnsafeStrings(document: DocumentNode, variables: Readonly<Record<string, unknown>> | null | undefined): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const report = (path: string, message: string | undefined): void => {
    if (message !== undefined) problems.push({ path, message });
  };
  const full = () => problems.length >= MAX_UNSAFE_PROBLEMS;
  problems.push(...literalProblems(document));
  if (full()) return problems.slice(0, MAX_UNSAFE_PROBLEMS);
  walkVariables(variables ?? {}, report, full);
  return problems.slice(0, MAX_UNSAFE_PROBLEMS);
}

/** A document's own problems, once per parsed document (the server keeps parsed documents and sends the same one again). */
const byDocument = new WeakMap<DocumentNode, FieldProblem[]>();

function literalProblems(document: DocumentNode): FieldProblem[] {
  const known = byDocument.get(document);
  if (known) return known;
  const problems: FieldProblem[] = [];
  const report = (path: string, message: string | undefined): void => {
    if (message !== undefined) problems.push({ path, message });
  };
  const full = () => problems.length >= MAX_UNSAFE_PROBLEMS;
  for (const [path, node] of literalRoots(document)) {
    walkLiteral(path, node, report, full);
    if (full()) break;
  }
  byDocument.set(document, problems);
  return problems;
}

type Report = (path: string, message: string | undefined) => void;

/** The argument values and variable defaults of a document, each with the name its path starts with. */
function literalRoots(document: DocumentNode): Array<[string, ValueNode]> {
  const roots: Array<[string, ValueNode]> = [];
  visit(document, {
    // Values hold no arguments, so there is nothing below an argument to visit.
    Argument(node) {
      roots.push([node.name.value, node.value]);
      return false;
    },
    VariableDefinition(node) {
      if (node.defaultValue) roots.push([node.variable.name.value, node.defaultValue]);
    },
  });
  return roots;
}

function walkLiteral(root: string, node: ValueNode, report: Report, full: () => boolean): void {
  // Children are pushed in reverse so problems come out in document order.
  const stack: Array<[string, ValueNode]> = [[root, node]];
  while (stack.length > 0 && !full()) {
    const [path, value] = stack.pop()!;
    if (value.kind === Kind.STRING) report(path, unsafeTextProblem(value.value));
    else if (value.kind === Kind.OBJECT) for (let i = value.fields.length - 1; i >= 0; i--) stack.push([`${path}.${value.fields[i]!.name.value}`, value.fields[i]!.value]);
    else if (value.kind === Kind.LIST) for (let i = value.values.length - 1; i >= 0; i--) stack.push([`${path}.${i}`, value.values[i]!]);
  }
}

/** Stands for unsafe characters in a key that becomes part of a path. */
const sanitize = (key: string): string => key.replace(/[\u0000\uD800-\uDFFF]/g, '\uFFFD');

function walkVariables(variables: Readonly<Record<string, unknown>>, report: Report, full: () => boolean): void {
  const seen = new WeakSet<object>();
  // Each entry: its path, its value, and what is wrong with the key that leads to it.
  const stack: Array<[string, unknown, { path: string; message: string } | undefined]> = [];
  const pushEntries = (prefix: string, entries: Array<[string, unknown]>) => {
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, value] = entries[i]!;
      const problem = unsafeTextProblem(key);
      const path = prefix ? `${prefix}.${problem ? sanitize(key) : key}` : problem ? sanitize(key) : key;
      // An unsafe key is reported at its object's path: echoing it would send the bad text back.
      stack.push([path, value, problem ? { path: prefix || path, message: `has a key that ${problem.replace(/^must not contain/, 'contains')}` } : undefined]);
    }
  };
  pushEntries('', Object.entries(variables));
  while (stack.length > 0 && !full()) {
    const [path, value, keyProblem] = stack.pop()!;
    if (keyProblem) report(keyProblem.path, keyProblem.message);
    if (typeof value === 'string') {
      report(path, unsafeTextProblem(value));
      continue;
    }
    if (value === null || typeof value !== 'object' || seen.has(value)) continue;
    seen.add(value);
    if (Array.isArray(value)) pushEntries(path, value.map((v, i) => [String(i), v]));
    else pushEntries(path, Object.entries(value));
  }
}
