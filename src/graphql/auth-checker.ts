import type { AuthCheckerFn } from 'type-graphql';
import { forbidden } from '../shared/errors.js';
import { Permission, Role } from '../modules/api-keys/index.js';
import type { RequestContext } from './context.js';

/**
 * Backs `@Authorized(...roles)`: the caller's role must be listed, and a read-only principal (a
 * customer token) may run no mutation at all, except one that lists Permission.CUSTOMER_MANAGE
 * when the token was minted with the MANAGE scope. Every root field declares its roles (a test
 * enforces it), so every mutation passes through here. Which customer a CUSTOMER key may see or
 * change is checked where the customer is known, with assertCustomerAccess.
 */
export const authChecker: AuthCheckerFn<RequestContext, Role | Permission> = ({ context, info }, roles) => {
  const { principal } = context;
  if (principal.role === Role.CUSTOMER && principal.manage && roles.includes(Permission.CUSTOMER_MANAGE)) return true;
  if (principal.readOnly && info.operation.operation === 'mutation') {
    throw forbidden(
      roles.includes(Permission.CUSTOMER_MANAGE)
        ? 'this customer token may only read; this mutation needs a token minted with the MANAGE scope'
        : 'a customer token may only run queries and subscriptions (and, with the MANAGE scope, set its own spending cap and alerts); this mutation needs an API key',
    );
  }
  if ((roles as string[]).includes(principal.role)) return true;
  throw forbidden(`this operation needs a ${roles.filter((r) => r !== Permission.CUSTOMER_MANAGE).join(' or ')} key; this key is ${principal.role}`);
};
