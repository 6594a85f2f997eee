import { Field, InputType } from 'type-graphql';

@InputType({ description: 'A candidate rule-set file, as it would sit in the rules folder.' })
export class CandidateRuleFileInput {
  @Field(() => String, { description: 'Its path in the rules folder: <key>/v<version>.json.' })
  file!: string;

  @Field(() => String, { description: 'The file’s text (JSON), at most 1 MiB; validated as `billing rules validate` validates files.' })
  content!: string;
}

@InputType({ description: 'What to simulate: the candidate rule sets and the window of recorded events to re-rate under them.' })
export class SimulatePricingInput {
  @Field(() => [CandidateRuleFileInput], { description: 'The candidate rule-set files (at most 64, 4 MiB in all). Rule sets they do not define keep what their events were charged.' })
  rules!: CandidateRuleFileInput[];

  @Field(() => Date, { description: 'Re-rate the events that occurred at or after this instant…' })
  from!: Date;

  @Field(() => Date, { description: '…and before this one (at most 92 days after from).' })
  to!: Date;

  @Field(() => [String], { nullable: true, description: 'Only these customers (ids or external ids); every customer when absent.' })
  customers?: string[] | null;

  @Field(() => String, { nullable: true, description: 'The event dimension revenue is also split by; model when absent.' })
  by?: string | null;
}
