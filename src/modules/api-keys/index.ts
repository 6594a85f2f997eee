export { ApiKeyResolver } from './api-key.resolver.js';
export { ApiKeyService } from './api-key.service.js';
export { digestSecret, PrincipalCache } from './principal.cache.js';
export { assertCustomerAccess, bearerSecret, Permission, type Principal, Role, visibleTo } from './principal.pure.js';
