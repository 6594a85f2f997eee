export { TaxRateService } from './tax-rate.service.js';
export { TaxRateResolver } from './tax-rate.resolver.js';
export type { TaxRate } from './tax-rate.repository.js';
