import type { MeterFacts, Refusal } from '../../rating/types.js';
import type { Meter } from '../meters/index.js';
import type { UsageOutcome } from './usage-outcomes.pure.js';

/*
 * What the usage path hands the rating core about an event's meter, and how it answers a
 * rating's refusal: shared by recording, authorising and previewing.
 */

/** A refusal of the rating: a rule's own, or UNPRICED_EVENT when no charge priced the event. */
export function ratingRefusal(refusal: Refusal): Extract<UsageOutcome, { kind: 'refused' }> {
  if (refusal.source === 'unpriced') return { kind: 'refused', code: 'UNPRICED_EVENT', message: refusal.message, details: {} };
  return { kind: 'refused', code: 'RULE_REFUSED', message: refusal.message, details: { ruleCode: refusal.code, rule: refusal.rule } };
}

/** The meter as rating needs it: its aggregation, and for UNIQUE_COUNT the value the event counts. */
export function meterFacts(meter: Meter, dimensions: Readonly<Record<string, string>>): MeterFacts {
  const distinctValue = meter.aggregation === 'UNIQUE_COUNT' && meter.property ? dimensions[meter.property] : undefined;
  return distinctValue === undefined ? { aggregation: meter.aggregation } : { aggregation: meter.aggregation, distinctValue };
}

