export { CreditUnit, CreditUnitSchema } from './credit-unit.entity.js';
export { CurrencyService } from './currency.service.js';
export { CurrencyResolver } from './currency.resolver.js';
