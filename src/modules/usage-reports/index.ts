export { projectSpend } from './usage-projection.pure.js';
export { UsageReportResolver } from './usage-report.resolver.js';
export { UsageReportService } from './usage-report.service.js';
