/**
 * A test clock: a frozen time an ADMIN sets and moves forward. Customers created on it live at
 * that time instead of the real one: their usage is stamped with it, and their billing periods
 * close, invoices finalize, alerts fire and dunning runs when the clock is advanced past them.
 */
export interface TestClock {
  id: string;
  /** Names the clock in its customers' invoice numbers (TEST_<number>-0001); a bigint's digits. */
  number: string;
  name: string;
  frozenTime: Date;
  /** How many customers are on it. */
  customerCount: number;
  createdAt: Date;
  updatedAt: Date;
}

/** The invoice numbering of a clock's customers: a scope and numbers of their own, never the live sequence's. */
export const testClockNumbering = (clock: Pick<TestClock, 'id' | 'number'>) => ({
  scope: `test_clock:${clock.id}`,
  // The underscore keeps these apart from every live number: prefixes are [A-Z0-9-].
  format: (sequence: bigint) => `TEST_${clock.number}-${sequence.toString().padStart(4, '0')}`,
});
