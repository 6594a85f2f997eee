import { type ApiKeyService, bearerSecret, type Principal } from '../api-keys/index.js';
import { isCustomerToken, type CustomerTokenService } from './customer-token.service.js';

/**
 * Every kind of bearer credential behind one door: API keys and customer tokens, told apart by
 * the token's prefix. The HTTP context and WebSocket connection_init both authenticate here.
 */
export class Credentials {
  constructor(
    private readonly apiKeys: ApiKeyService,
    private readonly tokens: CustomerTokenService,
  ) {}

  /** Resolves an `Authorization` header value to a Principal, or throws UNAUTHENTICATED. */
  authenticate(authorization: string | undefined): Promise<Principal> {
    const secret = bearerSecret(authorization);
    return isCustomerToken(secret) ? this.tokens.authenticateSecret(secret) : this.apiKeys.authenticateSecret(secret);
  }

  /** Runs after any credential is revoked on this instance. */
  onRevoked(listener: (credentialId: string) => void): void {
    this.apiKeys.onRevoked(listener);
    this.tokens.onRevoked(listener);
  }

  /** Drops a credential from the lookup caches (after a revocation seen by another instance). */
  forget(credentialId: string): void {
    this.apiKeys.forget(credentialId);
    this.tokens.forget(credentialId);
  }

  /** Of these credential ids, the ones that still authenticate. */
  async validAmong(ids: string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const [keys, tokens] = await Promise.all([this.apiKeys.validAmong(ids), this.tokens.validAmong(ids)]);
    return new Set([...keys, ...tokens]);
  }
}
