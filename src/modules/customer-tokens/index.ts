export { Credentials } from './credentials.service.js';
export { CustomerTokenResolver } from './customer-token.resolver.js';
export { CustomerTokenService } from './customer-token.service.js';
export { RevocationNotices } from './revocation-notices.service.js';
