import { describe, expect, it } from 'vitest';
import { fundsRefused } from '../../src/modules/usage/usage-outcomes.pure.js';

describe('usage outcomes', () => {
  it('say what is available in a refusal for want of funds, never less than zero', () => {
    expect(fundsRefused(250_000_000n).details).toEqual({ available: '0.25' });
    // A store rebuilt after a loss holds more than the balance for a moment (see fundsRefused).
    expect(fundsRefused(-500_000_000n).details).toEqual({ available: '0' });
    expect(fundsRefused(null).details).toEqual({});
  });
});
