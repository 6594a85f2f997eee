export { TaxRateResolver } from './tax-rate.resolver.js';
export { TaxRateService } from './tax-rate.service.js';
