export { ChargePreviewService } from './charge-preview.service.js';
export { bookFromFiles, evaluate, type ExampleCase, type ExampleEvent, runExamples } from './rule-examples.files.js';
export { diffFolders, diffVersions } from './rule-diff.files.js';
export { formatDiff } from './rule-diff.pure.js';
export { checkLock, writeLock } from './rule-lock.files.js';
export { LOCK_FILE } from './rule-lock.pure.js';
export { formatProblem, readRuleFiles, RulePathMissing } from './rule-set.files.js';
export { RuleSetResolver } from './rule-set.resolver.js';
export { RuleService } from './rule-set.service.js';
