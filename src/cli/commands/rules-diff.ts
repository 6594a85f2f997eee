import type { Command } from 'commander';
import { loadConfig } from '../../config/config.js';
import { diffFolders, diffVersions, formatDiff, formatProblem, RulePathMissing } from '../../modules/rules/index.js';

/**
 * `billing rules diff`: the price changes between two rules folders, or between two versions of
 * one rule set, in words for code review (or `--json`). Exit 0 whatever changed.
 */
export function registerDiffCommand(rules: Command): void {
  rules
    .command('diff [a] [b]')
    .description('price changes between two rules folders (the latest version of each rule set), or --rule-set k --from v --to v within one folder')
    .option('--rule-set <key>', 'only this rule set')
    .option('--from <version>', 'with --rule-set, in folder a: the old version')
    .option('--to <version>', 'with --rule-set, in folder a: the new version')
    .option('--json', 'print the changes as JSON')
    .action(async (a: string | undefined, b: string | undefined, opts: { ruleSet?: string; from?: string; to?: string; json?: boolean }) => {
      const version = (option: string, v: string | undefined) => {
        if (v === undefined || !/^[1-9][0-9]{0,6}$/.test(v)) throw new Error(`${option} must be a version number`);
        return Number(v);
      };
      const byVersion = opts.from !== undefined || opts.to !== undefined;
      if (byVersion && (!opts.ruleSet || b !== undefined)) throw new Error('--from and --to compare two versions of one --rule-set in one folder');
      if (!byVersion && (a === undefined || b === undefined)) throw new Error('name two folders, or --rule-set <key> --from <version> --to <version>');
      let result;
      try {
        result = byVersion
          ? await diffVersions(a ?? loadConfig().rules.dir, opts.ruleSet!, version('--from', opts.from), version('--to', opts.to))
          : await diffFolders(a!, b!, opts.ruleSet);
      } catch (err) {
        if (!(err instanceof RulePathMissing)) throw err;
        process.stderr.write(`${err.message}\n`);
        process.exitCode = 2;
        return;
      }
      for (const f of result.skipped) if (!f.result.ok) process.stderr.write(`skipped: ${formatProblem(f.file, f.result.problems[0]!)}\n`);
      if (opts.json) process.stdout.write(`${JSON.stringify({ ruleSets: result.diffs }, null, 2)}\n`);
      else for (const d of result.diffs) process.stdout.write(`${formatDiff(d).join('\n')}\n`);
    });
}
