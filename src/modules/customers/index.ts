export { Customer, CustomerSchema } from './customer.entity.js';
export { CustomerService, isTimeZone, type CustomerRef } from './customer.service.js';
export { CustomerResolver } from './customer.resolver.js';
export { CustomerObject, toCustomerObject } from './customer.object.js';
