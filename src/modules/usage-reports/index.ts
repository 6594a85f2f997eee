export { projectSpend } from './usage-projection.pure.js';
export { UsageReportResolver } from './usage-report.resolver.js';
export { usageReportRoutes } from './usage-report.routes.js';
export { UsageReportService } from './usage-report.service.js';
export { UsageEventListRepository } from './usage-event-list.repository.js';
export { UsageEventListResolver } from './usage-event-list.resolver.js';
export { MAX_UNSCOPED_RANGE_DAYS, UsageEventListService } from './usage-event-list.service.js';
