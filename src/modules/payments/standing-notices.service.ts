import { STANDINGS, type LiveBus, type StandingMessage } from '../live/index.js';
import type { StandingChange } from './payment-effects.service.js';

/**
 * Carries suspensions and reinstatements on the live bus, after the commit that made them: on
 * the customer's channel for its live subscribers (the dashboard), and on a channel every
 * instance listens to, whose usage path then forgets the customer it cached, so the change
 * applies to the next event everywhere. Pub/sub delivers at most once: a notice lost to a
 * Redis outage is made up for by the cache's freshness (seconds).
 */
export class StandingNotices {
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly bus: LiveBus,
    private readonly onError: (err: unknown) => void,
  ) {}

  publish(change: StandingChange): void {
    const message: StandingMessage = {
      type: 'standing',
      customerId: change.customerId,
      externalId: change.externalId,
      status: change.suspended ? 'SUSPENDED' : 'ACTIVE',
      reason: change.reason,
      at: change.at.toISOString(),
    };
    void Promise.all([this.bus.publish(change.customerId, [message]), this.bus.publish(STANDINGS, [message])]).catch(this.onError);
  }

  /** Resolves once notices published from now on reach `changed`. */
  async listen(changed: (customer: { id: string; externalId: string }) => void): Promise<void> {
    this.unsubscribe = await this.bus.subscribe(STANDINGS, (messages) => {
      for (const m of messages) if (m.type === 'standing') changed({ id: m.customerId, externalId: m.externalId });
    });
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }
}
