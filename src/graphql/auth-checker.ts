import type { AuthCheckerFn } from 'type-graphql';
import { forbidden } from '../shared/errors.js';
import type { Role } from '../modules/api-keys/index.js';
import type { RequestContext } from './context.js';

/**
 * Backs `@Authorized(...roles)`: the caller's role must be listed, and a read-only principal (a
 * customer token) may run no mutation at all. Every root field declares its roles (a test
 * enforces it), so every mutation passes through here. Which customer a CUSTOMER key may see is
 * checked where the customer is known, with assertCustomerAccess.
 */
export const authChecker: AuthCheckerFn<RequestContext, Role> = ({ context, info }, roles) => {
  const { principal } = context;
  if (principal.readOnly && info.operation.operation === 'mutation') {
    throw forbidden('a customer token may only run queries and subscriptions; mutations need an API key');
  }
  if (roles.includes(principal.role)) return true;
  throw forbidden(`this operation needs a ${roles.join(' or ')} key; this key is ${principal.role}`);
};
