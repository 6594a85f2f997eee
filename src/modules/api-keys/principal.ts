import { forbidden } from '../../shared/errors.js';

/** What a key may do. ADMIN: everything. INGEST: record usage only. CUSTOMER: read one customer's own data. */
export const Role = {
  ADMIN: 'ADMIN',
  INGEST: 'INGEST',
  CUSTOMER: 'CUSTOMER',
} as const;
export type Role = (typeof Role)[keyof typeof Role];

/** The authenticated caller of one request or socket. */
export interface Principal {
  keyId: string;
  role: Role;
  /** Set for CUSTOMER keys: the only customer they may see. */
  customerId: string | null;
}

/** Throws FORBIDDEN unless the principal may read this customer's data. */
export function assertCustomerAccess(principal: Principal, customerId: string): void {
  if (principal.role === Role.ADMIN) return;
  if (principal.role === Role.CUSTOMER && principal.customerId === customerId) return;
  throw forbidden(principal.role === Role.CUSTOMER ? 'a CUSTOMER key may only read its own customer' : 'this key may not read customer data');
}
