import { Decimal } from '../../shared/money/decimal.js';

const UNITS = new Decimal(1e9);
const MAX_ENTRIES = 100_000;

/** A counter value as the store keeps it (units), and as rating reads it (a decimal, made when first read). */
interface Value {
  units: bigint;
  decimal?: Decimal;
}

/**
 * What this instance last heard the store say about period counters. Only a guess used to rate
 * before reserving: the store checks the guess atomically and answers RERATE with the true values
 * when it was wrong, so a stale entry costs one round trip, never a wrong price.
 */
export class CounterCache {
  private readonly entries = new Map<string, Value>();

  private key(customerId: string, periodKey: string, name: string): string {
    return `${customerId}|${periodKey}|${name}`;
  }

  get(customerId: string, periodKey: string, name: string): Decimal | undefined {
    const v = this.entries.get(this.key(customerId, periodKey, name));
    if (!v) return undefined;
    return (v.decimal ??= new Decimal(v.units.toString()).div(UNITS));
  }

  set(customerId: string, periodKey: string, name: string, units: bigint): void {
    const key = this.key(customerId, periodKey, name);
    const v = this.entries.get(key);
    if (v?.units === units) return;
    if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
    this.entries.set(key, { units });
  }

  /** Counter names are charge counters; the meter's quantity is kept as "meter:<code>". */
  static meterName(meter: string): string {
    return `meter:${meter}`;
  }
}
