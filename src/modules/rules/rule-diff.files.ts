import type { RuleSetDefinition } from '../../rating/types.js';
import { diffRuleSets, type RuleSetDiff } from './rule-diff.pure.js';
import { readRuleFiles, RulePathMissing, type RuleFile } from './rule-set.files.js';

/** The valid versions of a folder by key and version, and the files skipped as invalid. */
async function versions(dir: string): Promise<{ byKey: Map<string, Map<number, RuleSetDefinition>>; skipped: RuleFile[] }> {
  const files = await readRuleFiles(dir, { mustExist: true });
  const byKey = new Map<string, Map<number, RuleSetDefinition>>();
  for (const f of files) {
    if (!f.result.ok) continue;
    const d = f.result.definition;
    if (!byKey.has(d.key)) byKey.set(d.key, new Map());
    byKey.get(d.key)!.set(d.version, d);
  }
  return { byKey, skipped: files.filter((f) => !f.result.ok) };
}

const latest = (vs: Map<number, RuleSetDefinition> | undefined) => (vs && vs.size > 0 ? vs.get(Math.max(...vs.keys()))! : null);

/**
 * The price changes between two rules folders: for each key, the latest version on each side
 * (a key only on one side is added or removed). `key` limits it to one rule set.
 */
export async function diffFolders(a: string, b: string, key?: string): Promise<{ diffs: RuleSetDiff[]; skipped: RuleFile[] }> {
  const [x, y] = await Promise.all([versions(a), versions(b)]);
  const keys = [...new Set([...x.byKey.keys(), ...y.byKey.keys()])].filter((k) => key === undefined || k === key).sort();
  if (key !== undefined && keys.length === 0) throw new RulePathMissing(`neither folder has a valid version of "${key}"`);
  return { diffs: keys.map((k) => diffRuleSets(k, latest(x.byKey.get(k)), latest(y.byKey.get(k)))), skipped: [...x.skipped, ...y.skipped] };
}

/** The price changes between two versions of one rule set in one folder. */
export async function diffVersions(dir: string, key: string, from: number, to: number): Promise<{ diffs: RuleSetDiff[]; skipped: RuleFile[] }> {
  const { byKey, skipped } = await versions(dir);
  const get = (v: number) => {
    const d = byKey.get(key)?.get(v);
    if (!d) throw new RulePathMissing(`${dir} has no valid version ${v} of "${key}"`);
    return d;
  };
  return { diffs: [diffRuleSets(key, get(from), get(to))], skipped };
}
