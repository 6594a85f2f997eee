import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import type { SqlPool } from '../../db/sql.js';
import { pageInMemory, type Page, type PageRequest } from '../../graphql/pagination.js';
import type { CompiledRuleSet } from '../../rating/compile.js';
import type { RuleSetDefinition } from '../../rating/types.js';
import { RuleBook } from '../../rating/rule-book.js';
import { validateRuleSetText } from '../../rating/validate.js';
import type { Clock } from '../../shared/clock.js';
import type { Logger } from '../../shared/logger.js';
import { backdatingProblem, PURPOSE_PROBLEM, purposeProblem } from './rule-lock.pure.js';
import { formatProblem, locateInFile, readRuleFiles, ruleFileIdentity } from './rule-set.files.js';
import { RuleSetKind, RuleSetStatus, type PublishedRuleSet, type RuleSetEntry } from './rule-set.record.js';
import { RuleSetRepository } from './rule-set.repository.js';

export interface RuleServiceOptions {
  /** Folder of rule files to load and watch; null to serve only what is published. */
  dir: string | null;
  watch: boolean;
  /** How often published versions are re-read, to pick up those another instance published. */
  refreshMs: number;
}

/**
 * Loads rule files, publishes new valid versions, and serves every published version. A file
 * that is invalid, or that changes a published version, is refused and shown with its errors in
 * status(); what was published keeps serving, so a bad edit never stops pricing.
 */
export class RuleService {
  private readonly repo: RuleSetRepository;
  private book = new RuleBook([]);
  private entries: RuleSetEntry[] = [];
  private readonly compiled = new Map<string, CompiledRuleSet>();
  private loading: Promise<void> = Promise.resolve();
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly listeners: Array<() => void> = [];
  private loadError: string | null = null;
  private loadedOnce = false;

  constructor(
    sql: SqlPool,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly options: RuleServiceOptions,
  ) {
    this.repo = new RuleSetRepository(sql);
  }

  /** Loads the folder and starts watching it (when configured). */
  async start(): Promise<void> {
    await this.reload();
    if (this.options.dir && this.options.watch) this.startWatching(this.options.dir);
    if (this.options.refreshMs > 0) {
      this.timer = setInterval(() => void this.reload().catch((err) => this.logger.error({ err }, 'rule refresh failed')), this.options.refreshMs);
      this.timer.unref();
    }
  }

  stop(): void {
    this.watcher?.close();
    if (this.timer) clearInterval(this.timer);
  }

  /** Tells fn after every reload (tests wait on it; caches may listen). */
  onReload(fn: () => void): void {
    this.listeners.push(fn);
  }

  /** Re-reads the files and the published versions; one reload at a time. */
  reload(): Promise<void> {
    this.loading = this.loading
      .then(() => this.load())
      .then(() => {
        this.loadError = null;
      })
      .catch((err) => {
        this.loadError = (err as Error).message;
        this.logger.error({ err }, 'loading rules failed; the versions loaded before keep serving');
      });
    return this.loading;
  }

  /**
   * For /readyz: how many versions serve, which files were refused and why, and whether the last
   * load failed. Pricing is down when a load never succeeded, or rule files exist and none serves.
   */
  health(): { ready: boolean; serving: number; refused: Array<{ file: string | null; status: string; reason: string }>; error: string | null } {
    const serving = this.entries.filter((e) => e.status === RuleSetStatus.SERVING).length;
    const refused = this.entries.filter((e) => e.status !== RuleSetStatus.SERVING).map((e) => ({ file: e.file, status: e.status, reason: e.errors[0]?.message ?? '' }));
    const ready = this.loadedOnce && (serving > 0 || refused.length === 0);
    return { ready, serving, refused, error: this.loadError };
  }

  /** The version of `key` in force at `at`. */
  resolve(key: string, at: Date): CompiledRuleSet | undefined {
    return this.book.resolve(key, at);
  }

  version(key: string, version: number): CompiledRuleSet | undefined {
    return this.book.version(key, version);
  }

  /** The version in force at `at` of every cost book: what rates an event's cost. */
  costBooks(at: Date): CompiledRuleSet[] {
    return this.book.costBooks(at);
  }

  /** Whether `key` names a cost book, which never prices usage. */
  isCostBook(key: string): boolean {
    return this.book.isCostBook(key);
  }

  /**
   * A page of status(), optionally of one key: published versions by key and version, then the
   * files that could not be used, by file name. The cursor key is `ruleSetEntryKey`.
   */
  statusPage(key: string | null, req: PageRequest): Page<RuleSetEntry> {
    return pageInMemory(
      this.status().filter((e) => !key || e.key === key),
      ruleSetEntryKey,
      req,
    );
  }

  /** Every published version (SCHEDULED while its effectiveFrom is ahead) and every refused file. */
  status(): RuleSetEntry[] {
    const now = this.clock.now().getTime();
    return this.entries.map((e) => (e.status === RuleSetStatus.SERVING && e.effectiveFrom && e.effectiveFrom.getTime() > now ? { ...e, status: RuleSetStatus.SCHEDULED } : e));
  }

  private async load(): Promise<void> {
    // The folder is read file by file, each refused with its reason; only a folder that cannot
    // be listed at all leaves the files out (the published versions still serve).
    const files = this.options.dir
      ? await readRuleFiles(this.options.dir).catch((err: Error) => {
          this.logger.error({ dir: this.options.dir, err: err.message }, 'cannot read the rule folder; serving what is published');
          return [];
        })
      : [];
    const published = new Map((await this.repo.all()).map((p) => [`${p.key}@${p.version}`, p]));
    const problems: RuleSetEntry[] = [];
    // Keys with versions published before this load: a new version of one may have events priced
    // before its effectiveFrom by an earlier version, so it may not start in the past unless it says so.
    const keysBefore = new Set([...published.values()].map((p) => p.key));
    for (const { file, result } of files) {
      if (!result.ok) {
        const id = ruleFileIdentity(file);
        for (const p of result.problems) this.logger.warn({ file }, `refused rule file: ${formatProblem(file, p)}`);
        problems.push(problemEntry(file, id?.key ?? result.key ?? null, id?.version ?? result.version ?? null, RuleSetStatus.INVALID, result.problems));
        continue;
      }
      const { definition, hash } = result;
      const id = `${definition.key}@${definition.version}`;
      let stored = published.get(id);
      // A new version may not start in the past unless it says so, nor change its key's purpose.
      const refusal = stored ? undefined : (keysBefore.has(definition.key) ? backdatingProblem(definition, this.clock.now()) : undefined) ?? purposeProblem(definition, [...published.values()].map(purposeOf));
      if (refusal) {
        this.logger.warn({ file }, `refused rule file: ${refusal}`);
        const pointer = refusal.startsWith(PURPOSE_PROBLEM) ? '/purpose' : '/effectiveFrom';
        const where = this.options.dir ? await locateInFile(path.join(this.options.dir, file), pointer) : { line: 1, column: 1 };
        problems.push(problemEntry(file, definition.key, definition.version, RuleSetStatus.INVALID, [{ pointer, ...where, message: refusal }]));
        continue;
      }
      if (!stored) {
        stored = await this.repo.publish(
          { key: definition.key, version: definition.version, hash, effectiveFrom: new Date(definition.effectiveFrom), currency: definition.currency, content: definition, sourceFile: file },
          this.clock.now(),
        );
        published.set(id, stored);
        if (stored.hash === hash) this.logger.info({ key: definition.key, version: definition.version, hash }, 'published rule set');
      }
      if (stored.hash !== hash) {
        const message =
          `version ${definition.version} of "${definition.key}" was published on ${stored.publishedAt.toISOString()} with hash ${stored.hash.slice(0, 12)}; ` +
          `this file now hashes to ${hash.slice(0, 12)}. Published versions never change: put the change in v${definition.version + 1}.json`;
        this.logger.warn({ file }, message);
        problems.push(problemEntry(file, definition.key, definition.version, RuleSetStatus.CHANGED_AFTER_PUBLISHING, [{ pointer: '/version', line: 1, column: 1, message }]));
      }
    }
    const serving = [...published.values()].map((p) => this.compile(p)).filter((c): c is CompiledRuleSet => c !== undefined);
    this.book = new RuleBook(serving);
    const fileOf = new Map<string, string>();
    for (const f of files) if (f.result.ok) fileOf.set(`${f.result.definition.key}@${f.result.definition.version}`, f.file);
    this.entries = [
      ...[...published.values()].map((p) => servingEntry(p, fileOf.get(`${p.key}@${p.version}`) ?? p.sourceFile)),
      ...problems,
    ];
    this.loadedOnce = true;
    for (const fn of this.listeners) fn();
  }

  private compile(p: PublishedRuleSet): CompiledRuleSet | undefined {
    const cached = this.compiled.get(p.hash);
    if (cached) return cached;
    let result;
    try {
      result = validateRuleSetText(JSON.stringify(p.content));
    } catch (err) {
      result = { ok: false as const, problems: [{ pointer: '', line: 1, column: 1, message: (err as Error).message }] };
    }
    if (!result.ok) {
      this.logger.error({ key: p.key, version: p.version, problems: result.problems }, 'a published rule set no longer validates; it is not served');
      return undefined;
    }
    this.compiled.set(p.hash, result.compiled);
    return result.compiled;
  }

  private startWatching(dir: string): void {
    let timer: NodeJS.Timeout | undefined;
    try {
      this.watcher = watch(dir, { recursive: true }, () => {
        clearTimeout(timer);
        timer = setTimeout(() => void this.reload(), 150);
      });
      this.watcher.on('error', (err) => this.logger.warn({ err: err.message }, 'rule folder watch failed'));
    } catch (err) {
      this.logger.warn({ dir, err: (err as Error).message }, 'cannot watch the rule folder; reload on restart only');
    }
  }
}

const purposeOf = (p: PublishedRuleSet) => ({ key: p.key, version: p.version, purpose: (p.content as RuleSetDefinition).purpose ?? 'price' });

/**
 * Where an entry sorts: "0 <key> <version>" for a published version (the version zero-padded, so
 * that text order is number order), "1 <file>" for a file that could not be used. A space sorts
 * before every character of keys and file names, so a key sorts before its own extensions.
 */
export const ruleSetEntryKey = (e: RuleSetEntry): string =>
  e.status === RuleSetStatus.SERVING || e.status === RuleSetStatus.SCHEDULED ? `0 ${e.key} ${String(e.version).padStart(10, '0')}` : `1 ${e.file}`;

function servingEntry(p: PublishedRuleSet, file: string | null): RuleSetEntry {
  return {
    key: p.key,
    version: p.version,
    effectiveFrom: p.effectiveFrom,
    currency: p.currency,
    purpose: (p.content as RuleSetDefinition).purpose === 'cost' ? RuleSetKind.COST : RuleSetKind.PRICE,
    hash: p.hash,
    status: RuleSetStatus.SERVING,
    file,
    publishedAt: p.publishedAt,
    errors: [],
  };
}

function problemEntry(file: string, key: string | null, version: number | null, status: RuleSetStatus, problems: Array<{ pointer: string; line: number; column: number; message: string }>): RuleSetEntry {
  return { key, version, effectiveFrom: null, currency: null, purpose: null, hash: null, status, file, publishedAt: null, errors: problems.map((p) => ({ ...p, file })) };
}
