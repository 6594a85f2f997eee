/**
 * Fact paths in rule files: `$.a.b.c`, a chain of plain identifiers. Nothing else: no JSONPath
 * filters, wildcards or brackets (json-rules-engine's default resolver evaluates filter
 * expressions, which would be code from a file), and no prototype names.
 */
const SEGMENT = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;
const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype']);
const MAX_DEPTH = 6;

/** The names a path is made of, split wherever a plain name cannot continue ("$", ".", brackets, quotes…). */
const NAMES = /[A-Za-z0-9_-]+/g;

/**
 * The segments of a path, or a reason it is refused. A prototype name anywhere (even in a path
 * that is malformed otherwise, such as `__proto__` or `$.a["constructor"]`) is named as the
 * reason: it is what makes the path dangerous, and what its author has to change.
 */
export function parseFactPath(path: string): { segments: string[] } | { error: string } {
  const unsafe = path.match(NAMES)?.find((name) => FORBIDDEN.has(name));
  if (unsafe) return { error: `"${unsafe}" is an unsafe name (__proto__, constructor and prototype are refused: they reach an object's prototype)` };
  if (!path.startsWith('$.')) return { error: 'fact paths start with "$." (for example "$.dimensions.model")' };
  const segments = path.slice(2).split('.');
  if (segments.length > MAX_DEPTH) return { error: `fact paths have at most ${MAX_DEPTH} segments` };
  for (const segment of segments) {
    if (!SEGMENT.test(segment)) return { error: `"${segment}" is not a plain name; fact paths are names joined by "."` };
  }
  return { segments };
}

const cache = new Map<string, string[] | null>();

/**
 * Resolves a path by own-property access only. Anything that is not a valid path resolves to
 * undefined, whatever a file says, so a rule can never reach a prototype or run a filter.
 */
export function resolveFactPath(value: unknown, path: string): unknown {
  let segments = cache.get(path);
  if (segments === undefined) {
    const parsed = parseFactPath(path);
    segments = 'segments' in parsed ? parsed.segments : null;
    if (cache.size < 10_000) cache.set(path, segments);
  }
  if (segments === null) return undefined;
  let current = value;
  for (const segment of segments) {
    if (current === null || typeof current !== 'object' || !Object.hasOwn(current, segment)) return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}
