import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { locatePointer, MAX_RULE_FILE_CHARS, validateRuleSetText, type RuleFileProblem, type RuleSetValidation } from '../../rating/validate.js';

/** A rule-set file as read from disk and validated. */
export interface RuleFile {
  /** Path relative to the rules folder, e.g. "ai-price-book/v2.json". */
  file: string;
  result: RuleSetValidation;
}

const VERSION_FILE = /^v([1-9][0-9]{0,6})\.json$/;

/** `<key>/v<version>.json` files hold rule sets; anything else (README, schema, examples) is not one. */
export function ruleFileIdentity(relative: string): { key: string; version: number } | undefined {
  const parts = relative.split(/[\\/]/);
  if (parts.length !== 2) return undefined;
  const m = VERSION_FILE.exec(parts[1]!);
  return m ? { key: parts[0]!, version: Number(m[1]) } : undefined;
}

/** Lists the rule-set files under a folder: `<key>/v<N>.json`, in a stable order. */
export async function listRuleFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    throw err;
  });
  const files: string[] = [];
  for (const entry of entries.filter((e) => e.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
    const names = await readdir(path.join(dir, entry.name));
    for (const name of names.sort()) {
      const relative = `${entry.name}/${name}`;
      if (ruleFileIdentity(relative)) files.push(relative);
    }
  }
  return files;
}

/** Reads and validates one file; its folder and name must agree with its key and version. */
export async function readRuleFile(dir: string, relative: string): Promise<RuleFile> {
  return { file: relative, result: await validateFile(path.join(dir, relative), ruleFileIdentity(relative) ?? {}) };
}

/** Validates a file from disk; one that cannot be read is refused with the reason, never thrown. */
async function validateFile(file: string, expected: { key?: string; version?: number }): Promise<RuleSetValidation> {
  let text: string;
  try {
    const info = await stat(file);
    if (!info.isFile()) throw new Error('not a regular file');
    if (info.size > MAX_RULE_FILE_CHARS * 4) throw new Error(`larger than ${MAX_RULE_FILE_CHARS} characters`);
    text = await readFile(file, 'utf8');
  } catch (err) {
    return { ok: false, problems: [{ pointer: '', line: 1, column: 1, message: `the file cannot be read: ${(err as Error).message}` }] };
  }
  return validateRuleSetText(text, expected);
}

/** There is no such rule folder or file. */
export class RulePathMissing extends Error {}

/** Reads every rule-set file under `dir`, or the one file `dirOrFile` names. */
export async function readRuleFiles(dirOrFile: string, options: { mustExist?: boolean } = {}): Promise<RuleFile[]> {
  const info = await stat(dirOrFile).catch(() => undefined);
  if (!info && options.mustExist) throw new RulePathMissing(`no such rule folder or file: ${dirOrFile}`);
  if (info?.isFile()) {
    const relative = path.relative(path.dirname(path.dirname(dirOrFile)), dirOrFile);
    return [{ file: dirOrFile, result: await validateFile(dirOrFile, ruleFileIdentity(relative) ?? {}) }];
  }
  const files = await listRuleFiles(dirOrFile);
  return Promise.all(files.map((f) => readRuleFile(dirOrFile, f)));
}

/** "file:line:column: message (at pointer)" for terminals and logs. */
export function formatProblem(file: string, p: RuleFileProblem): string {
  return `${file}:${p.line}:${p.column}: ${p.message}${p.pointer ? ` (at ${p.pointer})` : ''}`;
}

/** Line and column of a JSON pointer in a rule file (1:1 when the file cannot be read). */
export async function locateInFile(file: string, pointer: string): Promise<{ line: number; column: number }> {
  const text = await readFile(file, 'utf8').catch(() => undefined);
  return text === undefined ? { line: 1, column: 1 } : locatePointer(text, pointer);
}
