import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';
import { TestClockObject } from './test-clock.object.js';

@InputType()
export class CreateTestClockInput {
  @Field(() => String, { description: 'At most 100 characters.' })
  name!: string;

  @Field(() => Date, { description: 'Where the clock starts: from 2000-01-01 to 5 years after the real time.' })
  frozenTime!: Date;
}

@ObjectType()
export class CreateTestClockPayload {
  @Field(() => TestClockObject)
  testClock!: TestClockObject;
}

@InputType()
export class AdvanceTestClockInput {
  @Field(() => ID)
  testClockId!: string;

  @Field(() => Date, {
    description: "The new time: not before the clock's time (the same time runs what is due again, after a failure), at most 400 days after it and 5 years after the real time.",
  })
  frozenTime!: Date;
}

@ObjectType({ description: "What advancing did for the clock's customers at its new time." })
export class AdvanceTestClockPayload {
  @Field(() => TestClockObject)
  testClock!: TestClockObject;

  @Field(() => Int, { description: 'Customers on the clock.' })
  customers!: number;

  @Field(() => Int, { description: 'Drafts written or brought up to date: periods that ended and are still in their grace.' })
  draftedInvoices!: number;

  @Field(() => [ID], { description: 'Invoices finalized at the new time (opening invoices, periods past their grace).' })
  finalizedInvoiceIds!: string[];

  @Field(() => Int, { description: 'Dunning steps taken: payment attempts, missed retries, invoices made uncollectible.' })
  dunningSteps!: number;
}
