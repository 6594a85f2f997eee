export { Aggregation, Meter, MeterSchema } from './meter.entity.js';
export { MeterService, CODE_PATTERN } from './meter.service.js';
export { MeterResolver } from './meter.resolver.js';
