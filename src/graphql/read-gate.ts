/**
 * At most `limit` read operations execute at once in this instance; the others wait their turn
 * (in arrival order). Reads then take a bounded share of the CPU and of the read pool, whatever
 * callers send, and the money paths keep theirs. Mutations never wait here.
 */
export class ReadGate {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly limit: number) {}

  /** Resolves with the release function once a slot is free. */
  async enter(): Promise<() => void> {
    if (this.running >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.running++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    };
  }
}
