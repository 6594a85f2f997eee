import { Arg, Args, Authorized, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { NodeRegistry, NodeSource } from '../../graphql/node.js';
import { PageArgs, toConnection, toPageRequest, type ConnectionShape } from '../../graphql/pagination.js';
import { Role } from '../api-keys/index.js';
import { CustomerObject } from '../customers/index.js';
import { AdvanceTestClockInput, AdvanceTestClockPayload, CreateTestClockInput, CreateTestClockPayload } from './test-clock.inputs.js';
import { TestClockConnection, TestClockObject, toTestClockObject } from './test-clock.object.js';
import type { TestClockService } from './test-clock.service.js';

@Resolver(() => TestClockObject)
export class TestClockResolver implements NodeSource {
  constructor(private readonly service: TestClockService) {}

  registerNodeTypes(nodes: NodeRegistry): void {
    nodes.register({ typename: 'TestClock', table: 'test_clock', roles: [Role.ADMIN], load: (_ctx, id) => this.testClock(id) });
  }

  @Authorized(Role.ADMIN)
  @Query(() => TestClockObject, { nullable: true })
  async testClock(@Arg('id', () => ID) id: string): Promise<TestClockObject | null> {
    const clock = await this.service.find(id);
    return clock && toTestClockObject(clock);
  }

  @Authorized(Role.ADMIN)
  @Query(() => TestClockConnection, { description: 'The test clocks, oldest first.' })
  async testClocks(@Args(() => PageArgs) args: PageArgs): Promise<ConnectionShape<TestClockObject>> {
    return toConnection(await this.service.page(toPageRequest(args)), (c) => c.id, toTestClockObject);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => CreateTestClockPayload, { description: 'Creates a test clock at a time of your choice; create customers on it with createCustomer(testClockId).' })
  async createTestClock(@Arg('input', () => CreateTestClockInput) input: CreateTestClockInput): Promise<CreateTestClockPayload> {
    return { testClock: toTestClockObject(await this.service.create(input)) };
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => AdvanceTestClockPayload, {
    description: "Moves a test clock forward, then closes what fell due for its customers at the new time (invoices, dunning) before answering.",
  })
  async advanceTestClock(@Arg('input', () => AdvanceTestClockInput) input: AdvanceTestClockInput): Promise<AdvanceTestClockPayload> {
    const r = await this.service.advance(input);
    return { testClock: toTestClockObject(r.clock), customers: r.customers, draftedInvoices: r.drafted, finalizedInvoiceIds: r.finalizedInvoiceIds, dunningSteps: r.dunningSteps };
  }
}

/** `Customer.testClock`: the clock a customer lives on; null for a live customer. */
@Resolver(() => CustomerObject)
export class CustomerTestClockResolver {
  constructor(private readonly service: TestClockService) {}

  @FieldResolver(() => TestClockObject, { nullable: true, description: 'The test clock the customer lives on; null for a live customer.' })
  async testClock(@Root() customer: CustomerObject): Promise<TestClockObject | null> {
    if (!customer.testClockId) return null;
    const clock = await this.service.find(customer.testClockId);
    return clock && toTestClockObject(clock);
  }
}
