export { Aggregation, type Meter } from './meter.entity.js';
export { MeterResolver } from './meter.resolver.js';
export { CODE_PATTERN, MeterService } from './meter.service.js';
