import type { Command } from 'commander';
import { registerDiffCommand } from './rules-diff.js';
import { registerSimulateCommand } from './rules-simulate.js';
import { loadConfig } from '../../config/config.js';
import { stat } from 'node:fs/promises';
import { checkLock, formatProblem, LOCK_FILE, readRuleFiles, writeLock, RulePathMissing, bookFromFiles, evaluate, runExamples, type ExampleCase, type ExampleEvent } from '../../modules/rules/index.js';
import { formatDecimal } from '../../shared/money/decimal.js';
import { formatLedgerUnits } from '../../shared/money/units.js';

const defaultDir = () => loadConfig().rules.dir;

/** A rule folder or file that does not exist: said on stderr, exit 2 (the command could not run). */
function missing(err: unknown): undefined {
  if (!(err instanceof RulePathMissing)) throw err;
  process.stderr.write(`${err.message}\n`);
  process.exitCode = 2;
  return undefined;
}

/** `billing rules validate|lock|test|eval|diff` (and `simulate`): the pricing team's tools. All but simulate read files only. */
export function registerRuleCommands(program: Command): void {
  const rules = program.command('rules').description('validate, test and try pricing rule sets');
  registerSimulateCommand(rules);
  registerDiffCommand(rules);

  rules
    .command('validate [dir]')
    .description('check every rule file; exit 1 with file:line:column and the reason on any fault')
    .action(async (dir?: string) => {
      const folder = dir ?? defaultDir();
      const files = await readRuleFiles(folder, { mustExist: true }).catch(missing);
      if (!files) return;
      // A folder's lock (rules.lock.json) is checked too: a locked version changed or gone, a new one backdated.
      const lockFaults = (await stat(folder)).isDirectory() ? await checkLock(folder, files, new Date()) : [];
      let faults = 0;
      for (const { file, result } of files) {
        const own = lockFaults.filter((p) => p.file === file);
        if (result.ok && own.length === 0) {
          process.stdout.write(`ok    ${file}  ${result.definition.key} v${result.definition.version}${result.definition.purpose === 'cost' ? ' (cost book)' : ''} from ${result.definition.effectiveFrom}  ${result.hash.slice(0, 12)}\n`);
        } else {
          const problems = [...(result.ok ? [] : result.problems), ...own];
          faults += problems.length;
          for (const p of problems) process.stdout.write(`FAIL  ${formatProblem(file, p)}\n`);
        }
      }
      for (const p of lockFaults.filter((p) => p.file === LOCK_FILE)) {
        faults++;
        process.stdout.write(`FAIL  ${formatProblem(LOCK_FILE, p)}\n`);
      }
      process.stdout.write(`${files.length} file(s), ${faults} fault(s)\n`);
      if (faults > 0 || files.length === 0) process.exitCode = 1;
    });

  rules
    .command('lock [dir]')
    .description(`record the content hash of every valid version in ${LOCK_FILE}; refuses while a locked version changed or disappeared`)
    .action(async (dir?: string) => {
      const folder = dir ?? defaultDir();
      const files = await readRuleFiles(folder, { mustExist: true }).catch(missing);
      if (!files) return;
      if (!(await stat(folder)).isDirectory()) throw new Error('rules lock takes a rules folder, not a file');
      for (const { file, result } of files) if (!result.ok) process.stdout.write(`skipped  ${file}: ${result.problems.length} fault(s); run rules validate\n`);
      const { written, added, problems } = await writeLock(folder, files);
      for (const p of problems) process.stdout.write(`FAIL  ${formatProblem(p.file, p)}\n`);
      if (problems.length > 0) {
        process.stdout.write(`${LOCK_FILE} not written\n`);
        process.exitCode = 1;
        return;
      }
      for (const a of added) process.stdout.write(`locked   ${a}\n`);
      process.stdout.write(written ? `${LOCK_FILE} written\n` : `${LOCK_FILE} up to date\n`);
    });

  rules
    .command('test [dir]')
    .description('run the examples.json beside each rule set and show a diff for each mismatch')
    .action(async (dir?: string) => {
      const folder = dir ?? defaultDir();
      if (!(await readRuleFiles(folder, { mustExist: true }).catch(missing))) return;
      const results = await runExamples(folder);
      for (const r of results) {
        process.stdout.write(`${r.diffs.length ? 'FAIL' : 'ok  '}  ${r.file}: ${r.name}\n`);
        for (const d of r.diffs) process.stdout.write(`        ${d}\n`);
      }
      const failed = results.filter((r) => r.diffs.length > 0).length;
      process.stdout.write(`${results.length} example(s), ${failed} failed\n`);
      if (failed > 0 || results.length === 0) process.exitCode = 1;
    });

  rules
    .command('eval')
    .description('rate one event and print the result as JSON')
    .requiredOption('--rules <dir-or-file>', 'a rules folder or one rule file')
    .requiredOption('--event <json>', 'the event: {"meter", "quantity", "timestamp", "dimensions", "values"}')
    .option('--rule-set <key>', 'which rule set, when the folder has several')
    .option('--period-quantity <decimal>', 'period-to-date quantity before the event', '0')
    .option('--aggregate', "rate the quantity as a whole period's aggregate")
    .option('--events <n>', 'with --aggregate: the number of events in the period')
    .option('--customer <json>', 'the customer facts: {"id", "externalId", "metadata": {"tier": "enterprise"}}')
    .option('--plan <json>', 'the plan facts: {"code", "version"}; none when left out')
    .action(async (opts: { rules: string; event: string; ruleSet?: string; periodQuantity: string; aggregate?: boolean; events?: string; customer?: string; plan?: string }) => {
      const json = <T>(option: string, text: string | undefined): T | undefined => {
        if (text === undefined) return undefined;
        try {
          return JSON.parse(text) as T;
        } catch {
          throw new Error(`${option} is not valid JSON`);
        }
      };
      const event = json<ExampleEvent>('--event', opts.event)!;
      const customer = json<ExampleCase['customer']>('--customer', opts.customer);
      const plan = json<ExampleCase['plan']>('--plan', opts.plan);
      const { book, files } = await bookFromFiles(opts.rules);
      for (const f of files) if (!f.result.ok) for (const p of f.result.problems) process.stderr.write(`skipped: ${formatProblem(f.file, p)}\n`);
      const events = opts.events === undefined ? undefined : /^[0-9]{1,12}$/.test(opts.events) ? Number(opts.events) : Number.NaN;
      const { ruleSet, rating } = await evaluate(book, { ruleSet: opts.ruleSet, event, customer, plan, periodQuantity: opts.periodQuantity, aggregate: !!opts.aggregate, events });
      const out = {
        ruleSet: ruleSet.ref,
        firedRules: rating.firedRules,
        refusal: rating.refusal,
        lines: rating.lines.map((l) => ({
          component: l.componentId,
          model: l.model,
          quantity: formatDecimal(l.quantity),
          amount: l.amount && formatDecimal(l.amount),
          charged: l.units === null ? null : formatLedgerUnits(l.units),
          ...('estimated' in l && l.estimated ? { estimated: true } : {}),
          tiers: l.tiers.map((t) => ({ tier: t.tier, quantity: formatDecimal(t.quantity), unitPrice: formatDecimal(t.unitPrice), flatFee: formatDecimal(t.flatFee), amount: formatDecimal(t.amount) })),
          adjustments: l.adjustments.map((a) => ({ id: a.id, kind: a.kind, factor: formatDecimal(a.factor) })),
          ...('counter' in l && l.counter ? { counter: { key: l.counter.key, before: formatDecimal(l.counter.before), delta: formatDecimal(l.counter.delta) } } : {}),
        })),
      };
      process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    });
}
