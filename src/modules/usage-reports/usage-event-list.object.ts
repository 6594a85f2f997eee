import { registerEnumType } from 'type-graphql';
import { connectionType } from '../../graphql/pagination.js';
import { UsageEventObject } from '../usage/index.js';

export const UsageEventOrder = { NEWEST_FIRST: 'NEWEST_FIRST', OLDEST_FIRST: 'OLDEST_FIRST' } as const;
registerEnumType(UsageEventOrder, {
  name: 'UsageEventOrder',
  valuesConfig: {
    NEWEST_FIRST: { description: 'Latest timestamp first; events of the same instant by id, descending.' },
    OLDEST_FIRST: { description: 'Earliest timestamp first; events of the same instant by id, ascending.' },
  },
});

export const UsageEventConnection = connectionType('UsageEvent', UsageEventObject);
