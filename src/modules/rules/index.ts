export { ChargePreviewService } from './charge-preview.service.js';
export { bookFromFiles, evaluate, type ExampleEvent, runExamples } from './rule-examples.files.js';
export { formatProblem, readRuleFiles, RulePathMissing } from './rule-set.files.js';
export { RuleSetResolver } from './rule-set.resolver.js';
export { RuleService } from './rule-set.service.js';
