import { Cluster, type Redis } from 'ioredis';
import { ListenerSet, type LiveBus, type LiveListener, type LiveMessage } from './live.bus.js';

/**
 * Live messages over Redis pub/sub. Publishing goes through the shared client; listening takes a
 * connection of its own (a subscribed connection can do nothing else), opened on first use.
 * Channel subscriptions are reference-counted: SUBSCRIBE with the first local listener,
 * UNSUBSCRIBE after the last.
 *
 * On a Redis Cluster the bus uses sharded pub/sub (SPUBLISH, SSUBSCRIBE; Redis 7): a channel
 * lives on one shard, the master of its slot, instead of every message being copied to every
 * node, and its name carries the customer's hash tag {c:<id>}, so a customer's messages go
 * through the master that holds its balances. The listening client (ioredis, with sharded
 * subscribers) keeps one subscriber connection per master that serves a subscribed channel and
 * subscribes again where a slot has gone when the slot map changes: after MOVED, after a lost
 * connection, and at each refresh of the map. One Redis keeps plain PUBLISH and SUBSCRIBE,
 * which every Redis version has, under the names it always used.
 */
export class RedisLiveBus implements LiveBus {
  private readonly listeners = new ListenerSet();
  private subscriber: Promise<Redis | Cluster> | undefined;
  /** Per channel, the SUBSCRIBE or UNSUBSCRIBE in flight, so they apply in order. */
  private readonly pending = new Map<string, Promise<unknown>>();
  private readonly sharded: boolean;

  constructor(
    private readonly redis: Redis | Cluster,
    private readonly prefix: string,
    private readonly onError: (err: unknown) => void,
  ) {
    this.sharded = redis instanceof Cluster;
  }

  private key(channel: string): string {
    return this.sharded ? `${this.prefix}live:{c:${channel}}` : `${this.prefix}live:${channel}`;
  }

  /** The bus channel of a Redis channel (the inverse of key). */
  private channelOf(key: string): string {
    const name = key.slice(this.prefix.length + 'live:'.length);
    return this.sharded ? name.slice('{c:'.length, -1) : name;
  }

  async publish(channel: string, messages: LiveMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const payload = JSON.stringify(messages);
    if (this.sharded) await this.redis.spublish(this.key(channel), payload);
    else await this.redis.publish(this.key(channel), payload);
  }

  async subscribe(channel: string, listener: LiveListener): Promise<() => void> {
    const sub = await this.connection();
    const key = this.key(channel);
    if (this.listeners.add(channel, listener)) await this.serially(channel, () => (this.sharded ? sub.ssubscribe(key) : sub.subscribe(key)));
    else await this.pending.get(channel);
    return () => {
      if (this.listeners.remove(channel, listener)) {
        void this.serially(channel, () => (this.listeners.has(channel) ? undefined : this.sharded ? sub.sunsubscribe(key) : sub.unsubscribe(key))).catch(this.onError);
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
  private connection(): Promise<Redis | Cluster> {
    this.subscriber ??= this.open().catch((err: unknown) => {
      this.subscriber = undefined;
      throw err;
    });
    return this.subscriber;
  }

  private async open(): Promise<Redis | Cluster> {
    const sub = this.duplicate();
    sub.on('error', this.onError);
    sub.on(this.sharded ? 'smessageBuffer' : 'messageBuffer', (rawChannel: Buffer, raw: Buffer) => {
      const channel = this.channelOf(rawChannel.toString());
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

  /**
   * A client for listening. On a cluster: with sharded subscribers, and a slot map refreshed
   * every second, since a master that gives a slot away drops its subscribers to the slot's
   * channels without telling the client, which subscribes again on the new master at the next
   * refresh.
   */
  private duplicate(): Redis | Cluster {
    if (!(this.redis instanceof Cluster)) return this.redis.duplicate({ enableAutoPipelining: false, commandTimeout: undefined });
    return this.redis.duplicate([], {
      shardedSubscribers: true,
      enableAutoPipelining: false,
      slotsRefreshInterval: 1_000,
      redisOptions: { ...this.redis.options.redisOptions, commandTimeout: undefined },
    });
  }
}
