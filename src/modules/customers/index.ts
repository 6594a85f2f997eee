export type { Customer } from './customer.entity.js';
export type { CustomerClock } from './customer.repository.js';
export { CustomerObject, PostalAddressObject } from './customer.object.js';
export { CustomerResolver } from './customer.resolver.js';
export { CustomerService } from './customer.service.js';
