import type { CompiledRuleSet } from './compile.js';

/**
 * The versions of every rule set, by key, ordered by effective date. An event is priced by the
 * version whose effectiveFrom is the latest at or before the event's timestamp.
 */
export class RuleBook {
  private readonly byKey = new Map<string, CompiledRuleSet[]>();

  constructor(versions: Iterable<CompiledRuleSet>) {
    for (const v of versions) {
      const list = this.byKey.get(v.ref.key) ?? [];
      list.push(v);
      this.byKey.set(v.ref.key, list);
    }
    for (const list of this.byKey.values()) list.sort((a, b) => a.effectiveFrom.getTime() - b.effectiveFrom.getTime() || a.ref.version - b.ref.version);
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
