import type { RuleSetDefinition, RuleSetPurpose } from '../../rating/types.js';

/** The lock file's name, at the top of a rules folder. */
export const LOCK_FILE = 'rules.lock.json';

/** Rule-set key → version → SHA-256 of the version's canonical JSON (as `rule_set_version.hash`). */
export type RuleLock = Record<string, Record<string, string>>;

/** A fault the lock finds, located in a rule file or in the lock itself (line 0: not located yet). */
export interface LockProblem {
  file: string;
  pointer: string;
  line: number;
  column: number;
  message: string;
}

/** A valid rule file as the lock sees it. */
export interface LockedFile {
  file: string;
  definition: RuleSetDefinition;
  hash: string;
}

/** The lock's text: keys and versions sorted, two-space indent, one final newline; equal locks are equal text. */
export function formatLock(lock: RuleLock): string {
  const sorted: RuleLock = {};
  for (const key of Object.keys(lock).sort()) {
    const versions: Record<string, string> = {};
    for (const v of Object.keys(lock[key]!).sort((a, b) => Number(a) - Number(b))) versions[v] = lock[key]![v]!;
    sorted[key] = versions;
  }
  return `${JSON.stringify(sorted, null, 2)}\n`;
}

/** Checks a parsed lock file's shape; a malformed one is one problem (at its pointer), never a throw. */
export function lockFrom(value: unknown): { lock: RuleLock } | { problem: LockProblem } {
  const fault = (pointer: string, message: string): { problem: LockProblem } => ({ problem: { file: LOCK_FILE, pointer, line: 0, column: 0, message } });
  if (!isObject(value)) return fault('', 'the lock must be an object of rule-set keys');
  for (const [key, versions] of Object.entries(value)) {
    const bad = !isObject(versions) || Object.entries(versions).some(([v, h]) => !/^[1-9][0-9]{0,6}$/.test(v) || typeof h !== 'string' || !/^[0-9a-f]{64}$/.test(h));
    if (bad) return fault(`/${key}`, `"${key}" must map version numbers to SHA-256 hashes (64 hex digits)`);
  }
  return { lock: value as RuleLock };
}

/** The lock holding every valid file's hash, plus what an older lock holds and the files no longer show. */
export function lockOf(files: LockedFile[], previous: RuleLock = {}): RuleLock {
  const lock: RuleLock = structuredClone(previous);
  for (const { definition, hash } of files) (lock[definition.key] ??= {})[String(definition.version)] = hash;
  return lock;
}

/**
 * What the lock refuses: a locked version whose file now hashes differently, a locked version
 * whose file is gone, a new version that would be backdated, and a version whose purpose (price
 * or cost) differs from an earlier version's in the folder. A version the lock does not
 * list is new. `invalid` lists the key@version of files present but invalid (their own faults say why).
 */
export function lockProblems(lock: RuleLock, files: LockedFile[], invalid: Set<string>, now: Date): LockProblem[] {
  const problems: LockProblem[] = [];
  const seen = new Set<string>();
  for (const { file, definition, hash } of files) {
    const id = `${definition.key}@${definition.version}`;
    seen.add(id);
    const locked = Object.hasOwn(lock, definition.key) ? lock[definition.key]![String(definition.version)] : undefined;
    if (locked !== undefined && locked !== hash) {
      problems.push({
        file,
        pointer: '',
        line: 1,
        column: 1,
        message:
          `version ${definition.version} of "${definition.key}" is locked with hash ${locked.slice(0, 12)}, but the file now hashes to ${hash.slice(0, 12)}: ` +
          `published versions never change (the server refuses it as CHANGED_AFTER_PUBLISHING); put the change in a new version`,
      });
    }
    if (locked === undefined && Object.hasOwn(lock, definition.key)) {
      const late = backdatingProblem(definition, now);
      if (late) problems.push({ file, pointer: '/effectiveFrom', line: 0, column: 0, message: late });
    }
    const earlier = files.filter((f) => f.definition.key === definition.key && f.definition.version < definition.version);
    const changed = purposeProblem(definition, earlier.map((f) => ({ key: f.definition.key, version: f.definition.version, purpose: f.definition.purpose ?? 'price' })));
    if (changed) problems.push({ file, pointer: '/purpose', line: 0, column: 0, message: changed });
  }
  for (const key of Object.keys(lock).sort()) {
    for (const version of Object.keys(lock[key]!)) {
      const id = `${key}@${version}`;
      if (seen.has(id) || invalid.has(id)) continue;
      problems.push({
        file: LOCK_FILE,
        pointer: `/${key}/${version}`,
        line: 0,
        column: 0,
        message: `version ${version} of "${key}" is locked but ${key}/v${version}.json is gone: a published version stays in the folder`,
      });
    }
  }
  return problems;
}

/**
 * Why a version first published at `at` is refused as backdated, or undefined: its
 * `effectiveFrom` lies before `at` and the file does not say `backdated` with a reason.
 */
export function backdatingProblem(definition: RuleSetDefinition, at: Date): string | undefined {
  const from = Date.parse(definition.effectiveFrom);
  if (Number.isNaN(from) || from >= at.getTime() || definition.backdated) return undefined;
  return (
    `takes effect at ${definition.effectiveFrom}, before it is published (${at.toISOString()}): events already priced by an earlier version would be priced differently. ` +
    `Give it a later effectiveFrom, or say "backdated": { "reason": "…" }`
  );
}

export const PURPOSE_PROBLEM = 'a rule set keeps its purpose';

/**
 * Why a version is refused for changing its key's purpose (a price rule set turned cost book, or
 * back), or undefined: plans name the key, and a cost book never prices usage.
 */
export function purposeProblem(definition: RuleSetDefinition, others: Iterable<{ key: string; version: number; purpose: RuleSetPurpose }>): string | undefined {
  const purpose = definition.purpose ?? 'price';
  const name = (p: RuleSetPurpose) => (p === 'cost' ? 'cost book' : 'price rule set');
  for (const o of others) {
    if (o.key !== definition.key || o.version === definition.version || o.purpose === purpose) continue;
    return `${PURPOSE_PROBLEM}: version ${o.version} of "${o.key}" is a ${name(o.purpose)}; publish a ${name(purpose)} under a key of its own`;
  }
  return undefined;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
