import { GraphQLJSONObject } from 'graphql-scalars';
import { Field, ID, InputType, Int } from 'type-graphql';
import { DecimalScalar } from '../../graphql/scalars/decimal.scalar.js';
import type { Decimal } from '../../shared/money/decimal.js';

@InputType({ description: 'A hypothetical event to price. Give ruleSetKey, or planCode to use the rule set the plan charges the meter with.' })
export class PreviewChargeInput {
  @Field(() => String, { nullable: true })
  ruleSetKey?: string | null;

  @Field(() => String, { nullable: true })
  planCode?: string | null;

  @Field(() => Int, { nullable: true, description: 'Plan version; the latest when absent.' })
  planVersion?: number | null;

  @Field(() => ID, { nullable: true, description: "A customer whose facts the rules may read (metadata)." })
  customerId?: string | null;

  @Field(() => String)
  meterCode!: string;

  @Field(() => DecimalScalar)
  quantity!: Decimal;

  @Field(() => Date, { nullable: true, description: 'Selects the rule-set version in force; now when absent.' })
  timestamp?: Date | null;

  @Field(() => GraphQLJSONObject, { nullable: true, description: 'Dimension name to string value, e.g. {"model": "gpt-4o"}.' })
  dimensions?: Record<string, unknown> | null;

  @Field(() => GraphQLJSONObject, { nullable: true, description: 'Named decimal amounts the event carries, e.g. {"providerCost": "0.012"}.' })
  values?: Record<string, unknown> | null;

  @Field(() => DecimalScalar, { nullable: true, description: 'Period-to-date quantity before the event; 0 when absent.' })
  periodQuantity?: Decimal | null;

  @Field(() => Boolean, { nullable: true, defaultValue: false, description: "Price the quantity as a whole period's aggregate." })
  aggregate?: boolean | null;

  @Field(() => Int, {
    nullable: true,
    description: "With aggregate: the number of events in the period (per-event fees and free events depend on it). Required, except for a COUNT meter, whose quantity is its number of events.",
  })
  events?: number | null;
}
