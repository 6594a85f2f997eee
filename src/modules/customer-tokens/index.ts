export { CustomerToken, CustomerTokenSchema } from './customer-token.entity.js';
export { CustomerTokenService, isCustomerToken } from './customer-token.service.js';
export { CustomerTokenResolver } from './customer-token.resolver.js';
export { Credentials } from './credentials.js';
export { RevocationNotices } from './revocation-notices.js';
