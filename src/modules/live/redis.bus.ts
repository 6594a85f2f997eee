import type { Redis } from 'ioredis';
import { ListenerSet, type LiveBus, type LiveListener, type LiveMessage } from './live.bus.js';

/**
 * Live messages over Redis pub/sub. Publishing goes through the shared client; listening takes a
 * connection of its own (a subscribed connection can do nothing else), opened on first use.
 * Channel subscriptions are reference-counted: SUBSCRIBE with the first local listener,
 * UNSUBSCRIBE after the last.
 */
export class RedisLiveBus implements LiveBus {
  private readonly listeners = new ListenerSet();
  private subscriber: Promise<Redis> | undefined;
  /** Per channel, the SUBSCRIBE or UNSUBSCRIBE in flight, so they apply in order. */
  private readonly pending = new Map<string, Promise<unknown>>();

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly onError: (err: unknown) => void,
  ) {}

  private key(channel: string): string {
    return `${this.prefix}live:${channel}`;
  }

  async publish(channel: string, messages: LiveMessage[]): Promise<void> {
    if (messages.length > 0) await this.redis.publish(this.key(channel), JSON.stringify(messages));
  }

  async subscribe(channel: string, listener: LiveListener): Promise<() => void> {
    const sub = await this.connection();
    if (this.listeners.add(channel, listener)) await this.serially(channel, () => sub.subscribe(this.key(channel)));
    else await this.pending.get(channel);
    return () => {
      if (this.listeners.remove(channel, listener)) {
        void this.serially(channel, () => (this.listeners.has(channel) ? undefined : sub.unsubscribe(this.key(channel)))).catch(this.onError);
      }
    };
  }

  async close(): Promise<void> {
    const sub = this.subscriber;
    this.subscriber = undefined;
    (await sub?.catch(() => undefined))?.disconnect();
  }

  get channels(): number {
    return this.listeners.channels;
  }

  private serially(channel: string, step: () => Promise<unknown> | undefined): Promise<unknown> {
    const next = (this.pending.get(channel) ?? Promise.resolve()).catch(() => undefined).then(step);
    this.pending.set(channel, next);
    void next.finally(() => {
      if (this.pending.get(channel) === next) this.pending.delete(channel);
    }).catch(() => undefined);
    return next;
  }

  /** The listening connection, opened once (concurrent first subscribers share the opening). */
  private connection(): Promise<Redis> {
    this.subscriber ??= this.open().catch((err: unknown) => {
      this.subscriber = undefined;
      throw err;
    });
    return this.subscriber;
  }

  private async open(): Promise<Redis> {
    const sub = this.redis.duplicate({ enableAutoPipelining: false, commandTimeout: undefined });
    sub.on('error', this.onError);
    sub.on('messageBuffer', (rawChannel: Buffer, raw: Buffer) => {
      const channel = rawChannel.toString().slice(this.prefix.length + 'live:'.length);
      let messages: LiveMessage[];
      try {
        messages = JSON.parse(raw.toString()) as LiveMessage[];
      } catch (err) {
        this.onError(err);
        return;
      }
      this.listeners.dispatch(channel, messages, this.onError);
    });
    await sub.connect();
    return sub;
  }
}
