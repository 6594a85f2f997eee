/**
 * A queue that hands its items over in batches: as soon as `maxSize` are waiting, or `maxDelayMs`
 * after the first of a batch arrived, whichever comes first. `drain()` sends what waits and
 * resolves once every batch handed over so far has settled.
 */
export class Batcher<T> {
  private queue: T[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    /** Sends one batch; must not reject (each item carries its own outcome). */
    private readonly send: (batch: T[]) => Promise<void>,
    private readonly maxSize: number,
    private readonly maxDelayMs: number,
  ) {}

  add(item: T): void {
    this.queue.push(item);
    if (this.queue.length >= this.maxSize) this.flush();
    // The timer belongs to the oldest waiting item; it keeps the process alive until it fires.
    else this.timer ??= setTimeout(() => this.flush(), this.maxDelayMs);
  }

  /** Hands over everything waiting now, in batches of at most maxSize. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.queue.length) {
      const batch = this.queue.splice(0, this.maxSize);
      const sending = this.send(batch).finally(() => this.inFlight.delete(sending));
      this.inFlight.add(sending);
    }
  }

  async drain(): Promise<void> {
    this.flush();
    while (this.inFlight.size) await Promise.all([...this.inFlight]);
  }
}
