import type { CompiledRuleSet } from './compile.js';

/**
 * The versions of every rule set, by key, ordered by effective date. An event is priced by the
 * version whose effectiveFrom is the latest at or before the event's timestamp.
 */
export class RuleBook {
  private readonly byKey = new Map<string, CompiledRuleSet[]>();
  /** The keys of cost books, sorted: few, and read for every event. */
  private readonly costKeys: string[];

  constructor(versions: Iterable<CompiledRuleSet>) {
    for (const v of versions) {
      const list = this.byKey.get(v.ref.key) ?? [];
      list.push(v);
      this.byKey.set(v.ref.key, list);
    }
    for (const list of this.byKey.values()) list.sort((a, b) => a.effectiveFrom.getTime() - b.effectiveFrom.getTime() || a.ref.version - b.ref.version);
    this.costKeys = [...this.byKey].filter(([, list]) => list.some((v) => v.purpose === 'cost')).map(([key]) => key).sort();
  }

  /** The version in force at `at`, or undefined when the key is unknown or `at` precedes every version. */
  resolve(key: string, at: Date): CompiledRuleSet | undefined {
    const list = this.byKey.get(key);
    if (!list) return undefined;
    const t = at.getTime();
    let found: CompiledRuleSet | undefined;
    for (const v of list) {
      if (v.effectiveFrom.getTime() <= t) found = v;
      else break;
    }
    return found;
  }

  /** The version in force at `at` of every cost book (rule sets of purpose "cost"), by key. */
  costBooks(at: Date): CompiledRuleSet[] {
    const out: CompiledRuleSet[] = [];
    for (const key of this.costKeys) {
      const v = this.resolve(key, at);
      if (v?.purpose === 'cost') out.push(v);
    }
    return out;
  }

  /** Whether `key` names a cost book (any of its versions is one). */
  isCostBook(key: string): boolean {
    return this.costKeys.includes(key);
  }

  version(key: string, version: number): CompiledRuleSet | undefined {
    return this.byKey.get(key)?.find((v) => v.ref.version === version);
  }

  keys(): string[] {
    return [...this.byKey.keys()].sort();
  }

  versions(key: string): CompiledRuleSet[] {
    return [...(this.byKey.get(key) ?? [])];
  }
}
