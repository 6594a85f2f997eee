export { CurrencyResolver } from './currency.resolver.js';
export { CurrencyService } from './currency.service.js';
