export { Granularity, MAX_BUCKETS, bucketBounds, bucketStart, nextBucketStart, binSpan } from './usage-buckets.js';
export { projectSpend, elapsedShare, MIN_RATE_WINDOW_MS } from './usage-projection.js';
export { UsageReportService, type HeldAmounts, type UsageReport, type CurrentPeriodView } from './usage-report.service.js';
export { UsageReportResolver } from './usage-report.resolver.js';
