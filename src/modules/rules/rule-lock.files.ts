import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { locatePointer } from '../../rating/validate.js';
import { findNodeAtLocation, parseTree, type ParseError } from 'jsonc-parser';
import { LOCK_FILE, formatLock, lockFrom, lockOf, lockProblems, type LockedFile, type LockProblem, type RuleLock } from './rule-lock.pure.js';
import { ruleFileIdentity, type RuleFile } from './rule-set.files.js';

/** The lock of a rules folder: absent, unreadable (one problem), or its content and text. */
export async function readLock(dir: string): Promise<{ lock: RuleLock; text: string } | { problem: LockProblem } | undefined> {
  let text: string;
  try {
    text = await readFile(path.join(dir, LOCK_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return { problem: { file: LOCK_FILE, pointer: '', line: 1, column: 1, message: `the lock cannot be read: ${(err as Error).message}` } };
  }
  const errors: ParseError[] = [];
  const tree = parseTree(text, errors, { disallowComments: true, allowTrailingComma: false });
  if (errors.length > 0 || !tree) {
    const before = text.slice(0, errors[0]?.offset ?? 0).split('\n');
    return { problem: { file: LOCK_FILE, pointer: '', line: before.length, column: before.at(-1)!.length + 1, message: 'the lock is not valid JSON' } };
  }
  const parsed = lockFrom(JSON.parse(text));
  return 'lock' in parsed ? { lock: parsed.lock, text } : { problem: { ...parsed.problem, ...locateInLock(text, parsed.problem.pointer) } };
}

const validFiles = (files: RuleFile[]): LockedFile[] =>
  files.flatMap((f) => (f.result.ok ? [{ file: f.file, definition: f.result.definition, hash: f.result.hash }] : []));

/** The lock's faults for a folder's files, each located in its file; none when the folder has no lock. */
export async function checkLock(dir: string, files: RuleFile[], now: Date): Promise<LockProblem[]> {
  const read = await readLock(dir);
  if (!read) return [];
  if ('problem' in read) return [read.problem];
  const invalid = new Set(files.flatMap((f) => {
    const id = ruleFileIdentity(f.file);
    return !f.result.ok && id ? [`${id.key}@${id.version}`] : [];
  }));
  const problems = lockProblems(read.lock, validFiles(files), invalid, now);
  return Promise.all(
    problems.map(async (p) => {
      if (p.line > 0) return p;
      if (p.file === LOCK_FILE) return { ...p, ...locateInLock(read.text, p.pointer) };
      return { ...p, ...locatePointer(await readFile(path.join(dir, p.file), 'utf8'), p.pointer) };
    }),
  );
}

/**
 * Writes the folder's lock with every valid version's hash. A locked version that changed or
 * disappeared is not overwritten: its faults are returned and nothing is written.
 */
export async function writeLock(dir: string, files: RuleFile[]): Promise<{ written: boolean; added: string[]; problems: LockProblem[] }> {
  const read = await readLock(dir);
  if (read && 'problem' in read) return { written: false, added: [], problems: [read.problem] };
  const previous = read?.lock ?? {};
  // Backdating is judged when a version is published, not when it is locked.
  const problems = read ? (await checkLock(dir, files, new Date(0))) : [];
  if (problems.length > 0) return { written: false, added: [], problems };
  const valid = validFiles(files);
  const added = valid.filter((f) => previous[f.definition.key]?.[String(f.definition.version)] === undefined).map((f) => `${f.definition.key} v${f.definition.version}`);
  const text = formatLock(lockOf(valid, previous));
  if (read?.text !== text) await writeFile(path.join(dir, LOCK_FILE), text);
  return { written: read?.text !== text, added, problems: [] };
}

/** Line and column of `/key` or `/key/version` in the lock's text (its property names are all strings). */
function locateInLock(text: string, pointer: string): { line: number; column: number } {
  const tree = parseTree(text);
  const segments = pointer.split('/').slice(1);
  const node = (tree && (findNodeAtLocation(tree, segments) ?? findNodeAtLocation(tree, segments.slice(0, 1)))) ?? tree;
  const before = text.slice(0, node?.offset ?? 0).split('\n');
  return { line: before.length, column: before.at(-1)!.length + 1 };
}
