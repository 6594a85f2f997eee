import type { Principal } from '../modules/api-keys/index.js';
import type { Clock } from '../shared/clock.js';

/**
 * The close code of a socket whose credential expired or was revoked while it was open: the
 * code graphql-ws gives a refused connection_init, which its client retries (calling
 * `connectionParams` again, so a client that fetches a fresh token there reconnects by itself).
 */
export const CREDENTIAL_CLOSED = 4403;

/** setTimeout's longest delay; a later expiry re-arms the timer. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Ids per re-check query. */
const RECHECK_CHUNK = 1_000;

interface Session {
  credentialId: string;
  close: (reason: string) => void;
  timer?: NodeJS.Timeout;
}

/**
 * Open sockets by the credential that authenticated them, so that a credential's expiry (a
 * timer per socket) or revocation (a notice, or the periodic re-check) closes them.
 */
export class CredentialSockets {
  private readonly byCredential = new Map<string, Set<Session>>();
  private recheckTimer: NodeJS.Timeout | undefined;

  constructor(private readonly clock: Clock) {}

  /** Tracks a socket; `close` ends it with CREDENTIAL_CLOSED. Returns the function that stops tracking it. */
  add(principal: Principal, close: (reason: string) => void): () => void {
    const session: Session = { credentialId: principal.keyId, close };
    let set = this.byCredential.get(session.credentialId);
    if (!set) this.byCredential.set(session.credentialId, (set = new Set()));
    set.add(session);
    if (principal.expiresAt) this.arm(session, principal.expiresAt);
    return () => this.remove(session);
  }

  /** Closes every socket of a revoked credential. */
  revoked(credentialId: string, reason = 'credential revoked'): void {
    for (const session of [...(this.byCredential.get(credentialId) ?? [])]) this.end(session, reason);
  }

  /** Re-reads every open socket's credential and closes those no longer valid (a lost revocation notice). */
  async recheck(validAmong: (ids: string[]) => Promise<Set<string>>): Promise<void> {
    const ids = [...this.byCredential.keys()];
    for (let i = 0; i < ids.length; i += RECHECK_CHUNK) {
      const chunk = ids.slice(i, i + RECHECK_CHUNK);
      const valid = await validAmong(chunk);
      for (const id of chunk) if (!valid.has(id)) this.revoked(id, 'credential no longer valid');
    }
  }

  /** Runs `recheck` every `intervalMs` (0: never); `onError` hears a failed round. */
  startRecheck(intervalMs: number, validAmong: (ids: string[]) => Promise<Set<string>>, onError: (err: unknown) => void): void {
    if (intervalMs <= 0) return;
    this.recheckTimer = setInterval(() => void this.recheck(validAmong).catch(onError), intervalMs);
    this.recheckTimer.unref();
  }

  stop(): void {
    clearInterval(this.recheckTimer);
    for (const set of this.byCredential.values()) for (const session of set) clearTimeout(session.timer);
    this.byCredential.clear();
  }

  /** Open sockets of one credential. */
  count(credentialId: string): number {
    return this.byCredential.get(credentialId)?.size ?? 0;
  }

  /** Open sockets tracked (for tests and metrics). */
  get size(): number {
    let n = 0;
    for (const set of this.byCredential.values()) n += set.size;
    return n;
  }

  private arm(session: Session, expiresAt: Date): void {
    const delay = expiresAt.getTime() - this.clock.now().getTime();
    session.timer =
      delay > MAX_TIMER_MS
        ? setTimeout(() => this.arm(session, expiresAt), MAX_TIMER_MS)
        : setTimeout(() => this.end(session, 'credential expired'), Math.max(0, delay));
    session.timer.unref();
  }

  private end(session: Session, reason: string): void {
    this.remove(session);
    session.close(reason);
  }

  private remove(session: Session): void {
    clearTimeout(session.timer);
    const set = this.byCredential.get(session.credentialId);
    if (!set?.delete(session)) return;
    if (set.size === 0) this.byCredential.delete(session.credentialId);
  }
}
