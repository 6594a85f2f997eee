import { EntitySchema } from '@mikro-orm/core';

/** How a meter turns a period's events into one quantity. */
export const Aggregation = {
  COUNT: 'COUNT',
  SUM: 'SUM',
  MAX: 'MAX',
  UNIQUE_COUNT: 'UNIQUE_COUNT',
  LATEST: 'LATEST',
  RECURRING: 'RECURRING',
} as const;
export type Aggregation = (typeof Aggregation)[keyof typeof Aggregation];

export class Meter {
  id!: string;
  code!: string;
  name!: string;
  aggregation!: Aggregation;
  /**
   * SUM, MAX, LATEST and RECURRING: what the event's `quantity` measures (a label, e.g. "tokens"; optional).
   * UNIQUE_COUNT: the dimension whose distinct values it counts (required). COUNT: none.
   */
  property!: string | null;
  /** Dimension keys events may carry and usage may be grouped by, e.g. ["model", "tokenType"]. */
  dimensions!: string[];
  createdAt!: Date;
}

export const MeterSchema = new EntitySchema<Meter>({
  class: Meter,
  tableName: 'meter',
  properties: {
    id: { type: 'uuid', primary: true },
    code: { type: 'string', length: 64, unique: 'meter_code_key' },
    name: { type: 'string', length: 200 },
    aggregation: { type: 'string', length: 16 },
    property: { type: 'string', length: 64, nullable: true },
    dimensions: { type: 'string[]', columnType: 'text[]' },
    createdAt: { type: 'Date', columnType: 'timestamptz' },
  },
});
