import type { MiddlewareFn } from 'type-graphql';
import { Role } from '../modules/api-keys/index.js';
import type { RequestContext } from './context.js';

/**
 * A field only ADMIN principals read, declared on the field (`@UseMiddleware(AdminOnly)`): any
 * other principal (a CUSTOMER key, a customer token) reads null, without an error, so that a
 * customer's query of its own record still answers in full. Applied where the field resolves,
 * it holds on every path that returns the type, whatever mapper built the object. The field
 * must be nullable.
 */
export const AdminOnly: MiddlewareFn<RequestContext> = async ({ context }, next) => (context.principal.role === Role.ADMIN ? next() : null);
