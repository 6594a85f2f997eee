import { Field, ID, Int, ObjectType } from 'type-graphql';
import { Node } from '../../graphql/node.js';
import { connectionType } from '../../graphql/pagination.js';
import type { TestClock } from './test-clock.record.js';

@ObjectType('TestClock', {
  implements: Node,
  description: "A frozen time an ADMIN moves forward: customers created on it live at its time, apart from live ones, and their periods close, invoices finalize, alerts fire and dunning runs as it advances.",
})
export class TestClockObject {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  name!: string;

  @Field(() => Date, { description: "The clock's time: its customers' usage is stamped with it and their billing runs at it." })
  frozenTime!: Date;

  @Field(() => String, { description: "The clock's mark in its customers' invoice numbers, TEST_<number>-0001: a numbering apart from the live one." })
  invoiceNumberPrefix!: string;

  @Field(() => Int, { description: 'How many customers are on the clock.' })
  customerCount!: number;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date)
  updatedAt!: Date;
}

export const toTestClockObject = (c: TestClock): TestClockObject => ({
  id: c.id,
  name: c.name,
  frozenTime: c.frozenTime,
  invoiceNumberPrefix: `TEST_${c.number}`,
  customerCount: c.customerCount,
  createdAt: c.createdAt,
  updatedAt: c.updatedAt,
});

export const TestClockConnection = connectionType('TestClock', TestClockObject);

