import { forbidden, unauthenticated } from '../../shared/errors.js';

/** What a key may do. ADMIN: everything. INGEST: record usage only. CUSTOMER: read one customer's own data. */
export const Role = {
  ADMIN: 'ADMIN',
  INGEST: 'INGEST',
  CUSTOMER: 'CUSTOMER',
} as const;
export type Role = (typeof Role)[keyof typeof Role];

/**
 * A grant declared in `@Authorized(...)` beside the roles: a customer token minted with the
 * MANAGE scope, on a mutation of its own customer's settings (spending cap, alert thresholds).
 * Which customer is checked where it becomes known, with assertCustomerAccess.
 */
export const Permission = { CUSTOMER_MANAGE: 'CUSTOMER_MANAGE' } as const;
export type Permission = (typeof Permission)[keyof typeof Permission];

/** The authenticated caller of one request or socket. */
export interface Principal {
  /** The id of the API key, or of the customer token, that authenticated the caller. */
  keyId: string;
  role: Role;
  /** Set for CUSTOMER keys: the only customer they may see. */
  customerId: string | null;
  /** A customer token: a CUSTOMER principal that may run queries and subscriptions, and no mutation but those `manage` allows. */
  readOnly?: boolean;
  /** A customer token minted with the MANAGE scope: it may also run the mutations granted to Permission.CUSTOMER_MANAGE. */
  manage?: boolean;
  /** When the credential stops working; an open socket authenticated with it is closed then. */
  expiresAt?: Date | null;
}

/** Throws FORBIDDEN unless the principal may read this customer's data. */
export function assertCustomerAccess(principal: Principal, customerId: string): void {
  if (principal.role === Role.ADMIN) return;
  if (principal.role === Role.CUSTOMER && principal.customerId === customerId) return;
  throw forbidden(principal.role === Role.CUSTOMER ? 'a CUSTOMER key may only read its own customer' : 'this key may not read customer data');
}

/**
 * An object found by id, as this principal may see it: null when it belongs to another customer,
 * exactly as when no such id exists, so that ids of other customers' objects disclose nothing.
 * ADMIN sees everything; INGEST (which settles reservations by id) sees what its role allows.
 */
export function visibleTo<T extends { customerId: string }>(principal: Principal, found: T | null): T | null {
  if (!found || principal.role !== Role.CUSTOMER) return found;
  return principal.customerId === found.customerId ? found : null;
}

/** The secret of an `Authorization: Bearer <secret>` header value, or UNAUTHENTICATED. */
export function bearerSecret(authorization: string | undefined): string {
  if (!authorization) throw unauthenticated('send an API key as "Authorization: Bearer <key>"');
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  if (!match) throw unauthenticated('the Authorization header must be "Bearer <key>"');
  return match[1]!;
}
