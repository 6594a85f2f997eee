import { outsideRequests } from '../../shared/request-scope.js';

interface Waiting<I, O> {
  item: I;
  resolve: (o: O) => void;
  reject: (e: unknown) => void;
}

interface Lane<I, O> {
  queue: Array<Waiting<I, O>>;
  busy: boolean;
  scheduled: boolean;
}

/**
 * Group commit: work submitted while a transaction is running waits for the next one, which then
 * takes all of it (up to maxBatch), so concurrent requests share transactions instead of queueing
 * for one each.
 *
 * Work is spread over `lanes` by key (the customer): each lane runs one transaction at a time,
 * and lanes run side by side. Work for one customer always takes the same lane, so concurrent
 * transactions do not wait on each other's row locks.
 */
export class GroupCommitter<I, O> {
  private readonly lanes: Array<Lane<I, O>>;
  private idle: Array<() => void> = [];

  constructor(
    private readonly commit: (items: I[]) => Promise<O[]>,
    private readonly options: { maxBatch: number; lanes: number; keyOf: (item: I) => string },
  ) {
    this.lanes = Array.from({ length: Math.max(1, options.lanes) }, () => ({ queue: [], busy: false, scheduled: false }));
  }

  submit(item: I): Promise<O> {
    const lane = this.lanes[laneIndex(this.options.keyOf(item), this.lanes.length)]!;
    return new Promise<O>((resolve, reject) => {
      lane.queue.push({ item, resolve, reject });
      // Start on the next turn of the event loop, so work submitted in this one joins it. The
      // group serves every request in it: it runs (and logs, and traces) as none of them.
      if (!lane.busy && !lane.scheduled) {
        lane.scheduled = true;
        outsideRequests(() =>
          setImmediate(() => {
            lane.scheduled = false;
            this.pump(lane);
          }),
        );
      }
    });
  }

  /** Resolves when nothing is queued or running (for shutdown). */
  drain(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private isIdle(): boolean {
    return this.lanes.every((l) => !l.busy && !l.scheduled && l.queue.length === 0);
  }

  private pump(lane: Lane<I, O>): void {
    if (lane.busy || lane.queue.length === 0) {
      if (this.isIdle()) this.idle.splice(0).forEach((f) => f());
      return;
    }
    const batch = lane.queue.splice(0, this.options.maxBatch);
    lane.busy = true;
    this.commit(batch.map((b) => b.item))
      .then(
        (outcomes) => batch.forEach((b, i) => b.resolve(outcomes[i]!)),
        (err) => batch.forEach((b) => b.reject(err)),
      )
      .finally(() => {
        lane.busy = false;
        this.pump(lane);
      });
  }
}

/** FNV-1a over the key's characters: a stable lane for each key. */
function laneIndex(key: string, lanes: number): number {
  if (lanes === 1) return 0;
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return (h >>> 0) % lanes;
}
