import { describe, expect, it } from 'vitest';
import { monthStart, partitionWindow, retentionCutoff } from '../../src/modules/usage/usage-partition.pure.js';

const DAY = 86_400_000;

describe('usage partition dates', () => {
  it('months are UTC calendar months, across year ends', () => {
    expect(monthStart(new Date('2026-12-31T23:59:59.999Z'))).toEqual(new Date('2026-12-01T00:00:00Z'));
    expect(monthStart(new Date('2026-12-31T23:59:59.999Z'), 1)).toEqual(new Date('2027-01-01T00:00:00Z'));
    expect(monthStart(new Date('2026-01-15T00:00:00Z'), -2)).toEqual(new Date('2025-11-01T00:00:00Z'));
  });

  it('partitions are needed from the oldest timestamp accepted to the end of the month `ahead` months on', () => {
    expect(partitionWindow(new Date('2026-03-05T10:00:00Z'), 35 * DAY, 3)).toEqual({ from: new Date('2026-01-29T10:00:00Z'), to: new Date('2026-07-01T00:00:00Z') });
  });

  it('retention may drop the months ending by the start of the month N back, never a month that still accepts events', () => {
    // Three months back from mid-November: months ending by August 1 (July and earlier).
    expect(retentionCutoff(new Date('2026-11-15T00:00:00Z'), 3, 35 * DAY)).toEqual(new Date('2026-08-01T00:00:00Z'));
    // One month back, but events may be 35 days old: October 1 would still take late events of September.
    expect(retentionCutoff(new Date('2026-11-02T00:00:00Z'), 1, 35 * DAY)).toEqual(new Date('2026-09-28T00:00:00Z'));
  });
});
