import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { MemoryLiveBus, type LiveMessage } from '../../src/modules/live/live.bus.js';
import { LivePublisher } from '../../src/modules/live/live-publisher.service.js';
import type { LiveRepository } from '../../src/modules/live/live.repository.js';
import type { UsageCommitted } from '../../src/modules/usage/index.js';
import { FixedClock } from '../../src/shared/clock.js';

/** The in-process bus, held up until `release()`: a bus slower than usage is committed. */
class StalledBus extends MemoryLiveBus {
  readonly sent: LiveMessage[][] = [];
  private gate!: () => void;
  private readonly open = new Promise<void>((resolve) => (this.gate = resolve));

  override async publish(channel: string, messages: LiveMessage[]): Promise<void> {
    await this.open;
    this.sent.push(messages);
    return super.publish(channel, messages);
  }

  release(): void {
    this.gate();
  }
}

/** One customer's commit of `events` usage events on one wallet, with its outbox row. */
function commit(outboxId: string, events: number): UsageCommitted {
  const customerId = `customer-${outboxId}`;
  return {
    notices: [
      {
        customerId,
        outboxId,
        version: '1',
        events,
        charged: '0',
        wallets: { w1: { currency: 'USD', balance: '1000000000', change: '-1', sequence: '2', from: '1' } },
        spend: [],
        alerts: [],
      },
    ],
    events: Array.from({ length: events }, (_, i) => ({
      id: `${outboxId}-${i}`,
      customerId,
      meterCode: 'tokens',
      quantity: '1',
      amount: '0.000000001',
      charged: 1n,
      currency: 'USD',
      walletId: 'w1',
      occurredAt: new Date('2026-11-30T10:00:00Z'),
      periodStart: new Date('2026-11-01T00:00:00Z'),
      dimensions: {},
    })) as never,
    wallets: new Map(),
  };
}

const settle = () => new Promise((r) => setTimeout(r, 260));

describe('LivePublisher', () => {
  it('holds at most maxPending messages for a slow bus: past it a change is dropped (counted, logged once), its outbox row left to the relay', async () => {
    const bus = new StalledBus();
    const marked: string[] = [];
    const repo = { markPublished: async (ids: string[]) => void marked.push(...ids) } as unknown as LiveRepository;
    const warnings: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(JSON.parse(line).msg) });
    const dropped: number[] = [];
    const publisher = new LivePublisher(bus, repo, null as never, null as never, new FixedClock(new Date('2026-11-30T10:00:01Z')), logger, () => undefined, 10, (n) => dropped.push(n));

    publisher.usageCommitted(commit('a', 5)); // 1 balance + 5 usage messages: 6 waiting
    publisher.usageCommitted(commit('b', 5)); // 12 would wait: dropped
    publisher.usageCommitted(commit('c', 2)); // 6 + 3 = 9: waits
    expect(dropped).toEqual([6]);
    expect(warnings).toHaveLength(1);

    bus.release();
    await settle();
    expect(bus.sent.map((m) => m.length)).toEqual([6, 3]);
    expect(marked.sort()).toEqual(['a', 'c']);

    // Caught up: the next change is published again.
    publisher.usageCommitted(commit('d', 5));
    await settle();
    expect(bus.sent.map((m) => m.length)).toEqual([6, 3, 6]);
    expect(marked.sort()).toEqual(['a', 'c', 'd']);
    expect(dropped).toEqual([6]);
    await publisher.stop();
  });
});
