export { ApiKey, ApiKeySchema } from './api-key.entity.js';
export { ApiKeyService } from './api-key.service.js';
export { ApiKeyResolver } from './api-key.resolver.js';
export { Role, assertCustomerAccess, type Principal } from './principal.js';
