import type { Clock } from '../../shared/clock.js';
import { REVOCATIONS, type LiveBus } from '../live/index.js';

/**
 * Carries revocations between instances on the live bus (Redis pub/sub, or in process for the
 * embedded default). Pub/sub delivers at most once: a notice lost to a Redis outage is made up
 * for by the lookup cache going stale (HTTP, seconds) and by the sockets' periodic re-check.
 */
export class RevocationNotices {
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly bus: LiveBus,
    private readonly clock: Clock,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** Tells every instance, this one included, that a credential was revoked. */
  publish(credentialId: string): void {
    void this.bus.publish(REVOCATIONS, [{ type: 'revoked', credentialId, at: this.clock.now().toISOString() }]).catch(this.onError);
  }

  /** Resolves once notices published from now on reach `revoked`. */
  async listen(revoked: (credentialId: string) => void): Promise<void> {
    this.unsubscribe = await this.bus.subscribe(REVOCATIONS, (messages) => {
      for (const m of messages) if (m.type === 'revoked') revoked(m.credentialId);
    });
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }
}
