import { RuleBook } from '../../rating/rule-book.js';
import { MAX_RULE_FILE_CHARS, validateRuleSetText, type RuleSetValidation } from '../../rating/validate.js';
import { AppError, ErrorCode, ValidationError } from '../../shared/errors.js';
import { newTally, simulateBatch, simulationReport, type SimulationReport } from './simulation.pure.js';
import type { SimulationRepository } from './simulation.repository.js';

/** A candidate rule file: its path in a rules folder (`<key>/v<version>.json`) and its validation. */
export interface CandidateFile {
  file: string;
  result: RuleSetValidation;
}

export interface SimulationRequest {
  /** The candidate rule sets, validated like the files of a rules folder. */
  candidate: CandidateFile[];
  from: Date;
  to: Date;
  /** Customer ids or external ids; every customer when empty or absent. */
  customers?: string[] | null;
  /** The event dimension revenue is also split by (default `model`). */
  by?: string | null;
}

export interface SimulationLimits {
  /** Bounds each statement of the stream (null: none, for the command line). */
  statementTimeoutMs: number | null;
  /** The longest window one simulation may cover (null: any). */
  maxWindowDays: number | null;
}

/** What an API caller may send as candidate documents. */
export const MAX_CANDIDATE_DOCUMENTS = 64;
export const MAX_CANDIDATE_CHARS = 4 * MAX_RULE_FILE_CHARS;
const DAY_MS = 86_400_000;
const FILE_NAME = /^([^/\\]{1,64})\/v([1-9][0-9]{0,6})\.json$/;
const DIMENSION = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;

/**
 * Price simulation: what the recorded events of a window would have been charged under candidate
 * rule sets, beside what they were charged, per customer, per dimension value and per rule set.
 */
export class SimulationService {
  /** Credentials with a simulation running: one at a time each. */
  private readonly running = new Set<string>();

  constructor(
    private readonly repo: SimulationRepository,
    private readonly limits: SimulationLimits,
  ) {}

  /** Validates candidate documents given as text (the API's input), as `rules validate` validates files. */
  static validateDocuments(documents: Array<{ file: string; content: string }>): CandidateFile[] {
    const problems: Array<{ path: string; message: string }> = [];
    if (documents.length === 0) problems.push({ path: 'rules', message: 'give at least one candidate rule-set document' });
    if (documents.length > MAX_CANDIDATE_DOCUMENTS) problems.push({ path: 'rules', message: `at most ${MAX_CANDIDATE_DOCUMENTS} documents` });
    if (documents.reduce((n, d) => n + d.content.length, 0) > MAX_CANDIDATE_CHARS) problems.push({ path: 'rules', message: `at most ${MAX_CANDIDATE_CHARS} characters in all` });
    if (problems.length > 0) throw new ValidationError(problems);
    const seen = new Set<string>();
    return documents.map((d, i) => {
      const m = FILE_NAME.exec(d.file);
      if (!m) return { file: d.file, result: { ok: false, problems: [{ pointer: '', line: 1, column: 1, message: `rules[${i}].file must be <key>/v<version>.json` }] } };
      if (seen.has(d.file)) return { file: d.file, result: { ok: false, problems: [{ pointer: '', line: 1, column: 1, message: 'given twice' }] } };
      seen.add(d.file);
      return { file: d.file, result: validateRuleSetText(d.content, { key: m[1]!, version: Number(m[2]) }) };
    });
  }

  /** Runs a simulation of candidate files given as text (the API's input). */
  async simulateDocuments(request: Omit<SimulationRequest, 'candidate'> & { rules: Array<{ file: string; content: string }> }, credential: string): Promise<SimulationReport> {
    const { rules, ...rest } = request;
    return this.simulate({ ...rest, candidate: SimulationService.validateDocuments(rules) }, credential);
  }

  /** Runs a simulation; `credential` (the caller's key) may run one at a time. */
  async simulate(request: SimulationRequest, credential?: string): Promise<SimulationReport> {
    const problems: Array<{ path: string; message: string }> = [];
    for (const f of request.candidate) {
      if (!f.result.ok) for (const p of f.result.problems) problems.push({ path: f.file, message: `${f.file}:${p.line}:${p.column}: ${p.message}${p.pointer ? ` (at ${p.pointer})` : ''}` });
    }
    if (request.candidate.length === 0) problems.push({ path: 'rules', message: 'the candidate holds no rule-set file' });
    const { from, to } = request;
    if (Number.isNaN(from.getTime())) problems.push({ path: 'from', message: 'is not an instant' });
    if (Number.isNaN(to.getTime())) problems.push({ path: 'to', message: 'is not an instant' });
    else if (!(to.getTime() > from.getTime())) problems.push({ path: 'to', message: 'must be after from' });
    else if (this.limits.maxWindowDays !== null && to.getTime() - from.getTime() > this.limits.maxWindowDays * DAY_MS) {
      problems.push({ path: 'to', message: `a simulation covers at most ${this.limits.maxWindowDays} days` });
    }
    const by = request.by ?? 'model';
    if (!DIMENSION.test(by)) problems.push({ path: 'by', message: 'must be a dimension name' });
    const refs = request.customers ?? [];
    if (refs.length > 1000) problems.push({ path: 'customers', message: 'at most 1000 customers' });
    if (problems.length > 0) throw new ValidationError(problems);

    let customerIds: string[] | null = null;
    if (refs.length > 0) {
      const found = await this.repo.customerIds(refs);
      const unknown = refs.filter((r) => !found.some((f) => f.ref === r));
      if (unknown.length > 0) throw new ValidationError(unknown.map((r) => ({ path: 'customers', message: `no customer ${r}` })));
      customerIds = [...new Set(found.map((f) => f.id))];
    }

    if (credential !== undefined) {
      if (this.running.has(credential)) throw new AppError(ErrorCode.LIMIT_EXCEEDED, 'a simulation of this credential is running; wait for it to finish');
      this.running.add(credential);
    }
    try {
      const compiled = request.candidate.flatMap((f) => (f.result.ok ? [f.result.compiled] : []));
      const book = new RuleBook(compiled);
      let tally = newTally(by, book.keys(), from);
      await this.repo.stream(
        { from, to, customerIds },
        this.limits.statementTimeoutMs,
        (rows, customers, meters) => simulateBatch(book, tally, rows, { customers, meters }),
        () => void (tally = newTally(by, book.keys(), from)),
      );
      return simulationReport(tally, from, to);
    } finally {
      if (credential !== undefined) this.running.delete(credential);
    }
  }
}
