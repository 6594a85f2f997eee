import { randomBytes } from 'node:crypto';
import type { Orm } from '../../db/orm.js';
import type { Clock } from '../../shared/clock.js';
import { notFound } from '../../shared/errors.js';
import { isUuid, newId } from '../../shared/ids.js';
import { Checker } from '../../shared/validation.js';
import { digestSecret, PrincipalCache, Role, type Principal } from '../api-keys/index.js';
import { CustomerToken, CustomerTokenScope } from './customer-token.entity.js';
import { CustomerTokenRepository } from './customer-token.repository.js';

/** Every customer token starts with this, so a bearer secret can be routed without a lookup. */
export const CUSTOMER_TOKEN_PREFIX = 'bct_';
export const DEFAULT_TTL_SECONDS = 15 * 60;
export const MIN_TTL_SECONDS = 10;
export const MAX_TTL_SECONDS = 24 * 60 * 60;
/** Expired tokens are kept this long (for support questions), then deleted when the customer gets a new one. */
const KEEP_EXPIRED_MS = 24 * 60 * 60 * 1000;

export interface CreateCustomerTokenCommand {
  customerId: string;
  ttlSeconds?: number | null;
  /** READ (the default, always included) and MANAGE. */
  scopes?: CustomerTokenScope[] | null;
  /** The key minting it, recorded for the audit trail. */
  createdByKeyId?: string | null;
}

export interface CreatedCustomerToken {
  customerToken: CustomerToken;
  /** The token, returned once at creation and never again. */
  token: string;
}

/** True when a bearer secret has the shape of a customer token (and so is looked up here, not among API keys). */
export const isCustomerToken = (secret: string): boolean => secret.startsWith(CUSTOMER_TOKEN_PREFIX);

/**
 * Customer tokens: short-lived credentials scoped to one customer (read-only, or with MANAGE
 * also its spending cap and alert thresholds), which a backend
 * mints for its browser app. Stored as SHA-256 digests like API keys; revocation needs a row
 * anyway, so a signed token would save only the lookup that the cache already absorbs.
 */
export class CustomerTokenService {
  private readonly cache: PrincipalCache;

  constructor(
    private readonly orm: Orm,
    private readonly clock: Clock,
    private readonly customerExists: (customerId: string) => Promise<boolean>,
  ) {
    this.cache = new PrincipalCache(clock, { unknown: 'unknown or revoked customer token', expired: 'this customer token has expired; ask your backend for a new one' });
  }

  async create(cmd: CreateCustomerTokenCommand): Promise<CreatedCustomerToken> {
    const check = new Checker();
    if (!isUuid(cmd.customerId)) check.fail('customerId', 'must be a customer id');
    const ttlSeconds = cmd.ttlSeconds ?? DEFAULT_TTL_SECONDS;
    check.integer('ttlSeconds', ttlSeconds, { min: MIN_TTL_SECONDS, max: MAX_TTL_SECONDS });
    const asked = cmd.scopes ?? [];
    asked.forEach((scope, i) => {
      if (!Object.values(CustomerTokenScope).includes(scope)) check.fail(`scopes.${i}`, 'must be READ or MANAGE');
    });
    check.done();
    // Stored in a fixed order, READ always first: a set, whatever order and repeats were asked.
    const scopes = Object.values(CustomerTokenScope).filter((s) => s === CustomerTokenScope.READ || asked.includes(s));
    if (!(await this.customerExists(cmd.customerId))) throw notFound('customer', cmd.customerId);

    const token = `${CUSTOMER_TOKEN_PREFIX}${randomBytes(30).toString('base64url')}`;
    const now = this.clock.now();
    const row = Object.assign(new CustomerToken(), {
      id: newId(now.getTime()),
      customerId: cmd.customerId,
      prefix: token.slice(0, 12),
      secretHash: digestSecret(token),
      createdByKeyId: cmd.createdByKeyId ?? null,
      createdAt: now,
      expiresAt: new Date(now.getTime() + ttlSeconds * 1000),
      revokedAt: null,
      scopes,
    });
    const repo = new CustomerTokenRepository(this.orm);
    await repo.insert(row);
    await repo.deleteExpired(cmd.customerId, new Date(now.getTime() - KEEP_EXPIRED_MS));
    return { customerToken: row, token };
  }

  /** One token by id; null for an unknown or malformed id. */
  find(id: string): Promise<CustomerToken | null> {
    return isUuid(id) ? new CustomerTokenRepository(this.orm).findById(id) : Promise.resolve(null);
  }

  /** Revokes a token at once on this instance; the listeners tell other instances and open sockets. */
  async revoke(id: string): Promise<CustomerToken> {
    if (!isUuid(id)) throw notFound('customer token', id);
    const repo = new CustomerTokenRepository(this.orm);
    const row = await repo.findById(id);
    if (!row) throw notFound('customer token', id);
    if (!row.revokedAt) {
      row.revokedAt = this.clock.now();
      await repo.flush();
    }
    this.cache.revoked(id);
    return row;
  }

  /** Registers a callback run after a revocation, to tell other instances and open sockets. */
  onRevoked(listener: (tokenId: string) => void): void {
    this.cache.onRevoked(listener);
  }

  /** Drops a token from the lookup cache (after a revocation seen by another instance). */
  forget(tokenId: string): void {
    this.cache.forget(tokenId);
  }

  /** Resolves a token to a CUSTOMER principal (read-only, managing with MANAGE), or throws UNAUTHENTICATED. */
  authenticateSecret(token: string): Promise<Principal> {
    return this.cache.lookup(digestSecret(token), async (hash) => {
      const row = await new CustomerTokenRepository(this.orm).findBySecretHash(hash);
      if (!row || row.revokedAt) return null;
      const manage = row.scopes.includes(CustomerTokenScope.MANAGE);
      return { keyId: row.id, role: Role.CUSTOMER, customerId: row.customerId, readOnly: true, manage, expiresAt: row.expiresAt };
    });
  }

  /** Of these ids, the tokens that still authenticate (for long-lived sockets). */
  validAmong(ids: string[]): Promise<Set<string>> {
    return new CustomerTokenRepository(this.orm).validAmong(ids, this.clock.now());
  }
}
