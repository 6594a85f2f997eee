import { randomBytes } from 'node:crypto';
import type { Orm } from '../../db/orm.js';
import type { Page, PageRequest } from '../../graphql/pagination.js';
import type { Clock } from '../../shared/clock.js';
import { notFound } from '../../shared/errors.js';
import { newId, isUuid } from '../../shared/ids.js';
import { Checker } from '../../shared/validation.js';
import { ApiKey } from './api-key.entity.js';
import { ApiKeyRepository } from './api-key.repository.js';
import { digestSecret, PrincipalCache } from './principal.cache.js';
import { bearerSecret, Role, type Principal } from './principal.pure.js';

export interface CreateApiKeyCommand {
  name: string;
  role: Role;
  customerId?: string | null;
  expiresAt?: Date | null;
}

export interface CreatedApiKey {
  apiKey: ApiKey;
  /** The secret, returned once at creation and never again. */
  secret: string;
}

/**
 * API keys: creation, listing, revocation, and turning a bearer secret into a Principal.
 * Secrets are stored only as SHA-256 digests; they are 240-bit random, so a slow hash adds nothing.
 */
export class ApiKeyService {
  private readonly cache: PrincipalCache;

  constructor(
    private readonly orm: Orm,
    private readonly clock: Clock,
    private readonly customerExists: (customerId: string) => Promise<boolean>,
  ) {
    this.cache = new PrincipalCache(clock, { unknown: 'unknown or revoked API key', expired: 'this API key has expired' });
  }

  async create(cmd: CreateApiKeyCommand): Promise<CreatedApiKey> {
    const check = new Checker();
    const name = check.text('name', cmd.name, { max: 200, required: true });
    if (!Object.values(Role).includes(cmd.role)) check.fail('role', 'must be ADMIN, INGEST or CUSTOMER');
    const customerId = cmd.customerId ?? null;
    if (cmd.role === Role.CUSTOMER && !customerId) check.fail('customerId', 'is required for a CUSTOMER key');
    if (cmd.role !== Role.CUSTOMER && customerId) check.fail('customerId', 'is only allowed for a CUSTOMER key');
    if (customerId && !isUuid(customerId)) check.fail('customerId', 'must be a customer id');
    if (cmd.expiresAt && cmd.expiresAt.getTime() <= this.clock.now().getTime()) check.fail('expiresAt', 'must be in the future');
    check.done();
    if (customerId && !(await this.customerExists(customerId))) throw notFound('customer', customerId);

    const secret = `bk_${randomBytes(30).toString('base64url')}`;
    const key = Object.assign(new ApiKey(), {
      id: newId(),
      name: name!,
      role: cmd.role,
      customerId,
      prefix: secret.slice(0, 10),
      secretHash: digestSecret(secret),
      createdAt: this.clock.now(),
      expiresAt: cmd.expiresAt ?? null,
      revokedAt: null,
    });
    await new ApiKeyRepository(this.orm).insert(key);
    return { apiKey: key, secret };
  }

  list(req: PageRequest): Promise<Page<ApiKey>> {
    return new ApiKeyRepository(this.orm).page(req);
  }

  async count(): Promise<number> {
    return new ApiKeyRepository(this.orm).count();
  }

  /** One key by id; null for an unknown or malformed id. */
  find(id: string): Promise<ApiKey | null> {
    return isUuid(id) ? new ApiKeyRepository(this.orm).findById(id) : Promise.resolve(null);
  }

  /** Revokes a key at once on this instance; other instances stop trusting it on notice (or within seconds, see PrincipalCache). */
  async revoke(id: string): Promise<ApiKey> {
    if (!isUuid(id)) throw notFound('API key', id);
    const repo = new ApiKeyRepository(this.orm);
    const key = await repo.findById(id);
    if (!key) throw notFound('API key', id);
    if (!key.revokedAt) {
      key.revokedAt = this.clock.now();
      await repo.flush();
    }
    this.cache.revoked(id);
    return key;
  }

  /** Registers a callback run after a revocation, to tell other instances and open sockets. */
  onRevoked(listener: (keyId: string) => void): void {
    this.cache.onRevoked(listener);
  }

  /** Drops a key from the lookup cache (after a revocation seen by another instance). */
  forget(keyId: string): void {
    this.cache.forget(keyId);
  }

  /** Resolves an `Authorization` header value to a Principal, or throws UNAUTHENTICATED. */
  async authenticate(authorization: string | undefined): Promise<Principal> {
    return this.authenticateSecret(bearerSecret(authorization));
  }

  authenticateSecret(secret: string): Promise<Principal> {
    return this.cache.lookup(digestSecret(secret), async (hash) => {
      const key = await new ApiKeyRepository(this.orm).findBySecretHash(hash);
      if (!key || key.revokedAt) return null;
      return { keyId: key.id, role: key.role, customerId: key.customerId, expiresAt: key.expiresAt };
    });
  }

  /** Of these ids, the keys that still authenticate (for long-lived sockets). */
  validAmong(ids: string[]): Promise<Set<string>> {
    return new ApiKeyRepository(this.orm).validAmong(ids, this.clock.now());
  }
}
