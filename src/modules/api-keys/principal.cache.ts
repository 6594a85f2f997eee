import { createHash } from 'node:crypto';
import type { Clock } from '../../shared/clock.js';
import { unauthenticated } from '../../shared/errors.js';
import type { Principal } from './principal.pure.js';

/** How long a successful lookup is trusted before the database is asked again. */
const CACHE_MS = 5_000;
/** Past this many entries, stale ones are dropped (short-lived tokens would otherwise pile up). */
const MAX_ENTRIES = 10_000;

/** SHA-256 of a bearer secret: what is stored. Secrets are 240-bit random, so a slow hash adds nothing. */
export const digestSecret = (secret: string): Buffer => createHash('sha256').update(secret, 'utf8').digest();

interface Entry {
  principal: Principal;
  cachedUntil: number;
}

export interface CacheMessages {
  /** Said when the store knows no live credential with this secret. */
  unknown: string;
  /** Said when the credential has expired. */
  expired: string;
}

/**
 * Bearer secret digests to principals, trusted for CACHE_MS: a revocation elsewhere reaches this
 * instance at once through `forget` (a revocation notice), or at the latest when the entry goes
 * stale. Expiry is checked against the clock on every use, cached or not.
 */
export class PrincipalCache {
  private readonly entries = new Map<string, Entry>();
  private readonly revokedListeners: Array<(credentialId: string) => void> = [];

  constructor(
    private readonly clock: Clock,
    private readonly messages: CacheMessages,
  ) {}

  /** The principal behind a secret digest; `load` reads the store and returns null for unknown or revoked. */
  async lookup(digest: Buffer, load: (digest: Buffer) => Promise<Principal | null>): Promise<Principal> {
    const hex = digest.toString('hex');
    const now = this.clock.now().getTime();
    let entry = this.entries.get(hex);
    if (!entry || entry.cachedUntil <= now) {
      const principal = await load(digest);
      if (!principal) {
        this.entries.delete(hex);
        throw unauthenticated(this.messages.unknown);
      }
      entry = { principal, cachedUntil: now + CACHE_MS };
      this.entries.set(hex, entry);
      if (this.entries.size > MAX_ENTRIES) this.prune(now);
    }
    const expiresAt = entry.principal.expiresAt;
    if (expiresAt && expiresAt.getTime() <= now) throw unauthenticated(this.messages.expired);
    return entry.principal;
  }

  /** After a credential was revoked on this instance: forgets it and tells the listeners (other instances, open sockets). */
  revoked(credentialId: string): void {
    this.forget(credentialId);
    for (const listener of this.revokedListeners) listener(credentialId);
  }

  onRevoked(listener: (credentialId: string) => void): void {
    this.revokedListeners.push(listener);
  }

  /** Drops every entry of a credential (after a revocation, here or on another instance). */
  forget(credentialId: string): void {
    for (const [hex, entry] of this.entries) if (entry.principal.keyId === credentialId) this.entries.delete(hex);
  }

  private prune(now: number): void {
    for (const [hex, entry] of this.entries) if (entry.cachedUntil <= now) this.entries.delete(hex);
    // Still full of fresh entries: drop the oldest (a Map iterates in insertion order).
    for (const hex of this.entries.keys()) {
      if (this.entries.size <= MAX_ENTRIES) break;
      this.entries.delete(hex);
    }
  }
}
