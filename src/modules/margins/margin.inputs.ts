import { registerEnumType } from 'type-graphql';
import { MarginGroupBy } from './margin.record.js';

registerEnumType(MarginGroupBy, {
  name: 'MarginGroupBy',
  description: 'What a margins report is grouped by.',
  valuesConfig: {
    MODEL: { description: 'The event’s `model` dimension ("(none)" for events without one).' },
    CUSTOMER: { description: 'The customer, by external id.' },
    PLAN: { description: 'The plan code of the customer’s subscription at the event’s time ("(none)" without one).' },
    DAY: { description: 'The UTC day of the event, YYYY-MM-DD.' },
  },
});

export { MarginGroupBy };
