import { Field, InputType } from 'type-graphql';

@InputType('UsageGroupByInput', { description: 'How usage is split inside each bucket, besides currency (always).' })
export class UsageGroupByInput {
  @Field(() => Boolean, { defaultValue: false, description: 'One group per meter (each with its meter\'s quantity).' })
  meter!: boolean;

  @Field(() => [String], { defaultValue: [], description: 'Dimension keys (at most 4), e.g. ["model"]; a group per combination of values (null: the event had no such dimension).' })
  dimensions!: string[];
}

@InputType('UsageDimensionFilterInput', { description: 'Only events whose dimension `key` has one of `values` (e.g. an API key or a project).' })
export class UsageDimensionFilterInput {
  @Field(() => String)
  key!: string;

  @Field(() => [String], { description: 'At most 50 values; an event matches when its value is any of them.' })
  values!: string[];
}
