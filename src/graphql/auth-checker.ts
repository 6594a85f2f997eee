import type { AuthCheckerFn } from 'type-graphql';
import { forbidden } from '../shared/errors.js';
import type { Role } from '../modules/api-keys/principal.js';
import type { RequestContext } from './context.js';

/**
 * Backs `@Authorized(...roles)`: the caller's role must be listed. Which customer a CUSTOMER
 * key may see is checked where the customer is known, with assertCustomerAccess.
 */
export const authChecker: AuthCheckerFn<RequestContext, Role> = ({ context }, roles) => {
  if (roles.includes(context.principal.role)) return true;
  throw forbidden(`this operation needs a ${roles.join(' or ')} key; this key is ${context.principal.role}`);
};
