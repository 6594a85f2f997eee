export { formatMarginReport, type MarginLine, type MarginReport } from './margin.pure.js';
export { MarginGroupBy, MAX_MARGIN_DAYS } from './margin.record.js';
export { MarginRepository } from './margin.repository.js';
export { MarginResolver } from './margin.resolver.js';
export { MarginService, type MarginsCommand } from './margin.service.js';
