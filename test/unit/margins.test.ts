import { describe, expect, it } from 'vitest';
import { formatMarginReport, marginLine, marginReport } from '../../src/modules/margins/margin.pure.js';
import { MarginGroupBy } from '../../src/modules/margins/margin.record.js';

const sums = (key: string, currency: string, revenue: bigint, cost: bigint, events = 1n, uncosted = 0n) => ({ key, currency, events, revenue, cost, uncosted });

describe('margins', () => {
  it('computes margin exactly and rounds only the percent, half-up to 2 places', () => {
    expect(marginLine(sums('gpt-4o', 'USD', 3_000_000_000n, 1_000_000_001n))).toEqual({
      key: 'gpt-4o',
      currency: 'USD',
      events: 1,
      revenue: '3',
      cost: '1.000000001',
      margin: '1.999999999',
      marginPercent: '66.67',
      uncostedEvents: 0,
    });
    // 1/8 = 12.5%; 1/200000 = 0.0005% rounds half-up to 0.
    expect(marginLine(sums('a', 'USD', 8n, 7n)).marginPercent).toBe('12.5');
    expect(marginLine(sums('a', 'USD', 200_000n, 199_999n)).marginPercent).toBe('0');
  });

  it('shows a loss as a negative margin, and no percent without revenue', () => {
    expect(marginLine(sums('a', 'USD', 1_000_000_000n, 1_500_000_000n))).toMatchObject({ margin: '-0.5', marginPercent: '-50' });
    expect(marginLine(sums('free', 'USD', 0n, 250_000_000n))).toMatchObject({ revenue: '0', cost: '0.25', margin: '-0.25', marginPercent: null });
  });

  it('totals each currency apart, and prints them after the rows', () => {
    const window = { from: new Date('2026-03-01T00:00:00Z'), to: new Date('2026-04-01T00:00:00Z'), groupBy: MarginGroupBy.MODEL };
    const report = marginReport([sums('b', 'USD', 4n, 1n, 2n, 1n), sums('a', 'USD', 6n, 2n), sums('a', 'CREDITS', 10n, 0n, 3n, 3n)], window);
    expect(report.rows.map((r) => [r.key, r.currency])).toEqual([['a', 'CREDITS'], ['a', 'USD'], ['b', 'USD']]);
    expect(report.totals).toEqual([
      { key: '(total)', currency: 'CREDITS', events: 3, revenue: '0.00000001', cost: '0', margin: '0.00000001', marginPercent: '100', uncostedEvents: 3 },
      { key: '(total)', currency: 'USD', events: 3, revenue: '0.00000001', cost: '0.000000003', margin: '0.000000007', marginPercent: '70', uncostedEvents: 1 },
    ]);
    const text = formatMarginReport(report).split('\n');
    expect(text[2]).toMatch(/^model\s+currency\s+events\s+revenue\s+cost\s+margin\s+margin %\s+uncosted$/);
    expect(text.at(-2)).toMatch(/^\(total\)\s+USD\s+3\s+0\.00000001\s+0\.000000003\s+0\.000000007\s+70%\s+1$/);
  });
});
