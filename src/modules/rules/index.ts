export { RuleService, type RuleServiceOptions } from './rule-set.service.js';
export { ChargePreviewService } from './charge-preview.service.js';
export { RuleSetResolver } from './rule-set.resolver.js';
export { RuleSetStatus, type RuleSetEntry } from './rule-set.entity.js';
export { readRuleFiles, formatProblem } from './rule-files.js';
