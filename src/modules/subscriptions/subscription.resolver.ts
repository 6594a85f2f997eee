import { Arg, Args, Authorized, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { RequestContext } from '../../graphql/context.js';
import type { NodeRegistry, NodeSource } from '../../graphql/node.js';
import { PageArgs, toConnection, toPageRequest, type ConnectionShape } from '../../graphql/pagination.js';
import { assertCustomerAccess, Role, visibleTo } from '../api-keys/index.js';
import {
  CancelSubscriptionInput,
  CancelSubscriptionPayload,
  ChangeSubscriptionPlanInput,
  ChangeSubscriptionPlanPayload,
  CreateSubscriptionInput,
  CreateSubscriptionPayload,
} from './subscription.inputs.js';
import { SubscriptionConnection, subscriptionKey, SubscriptionObject, SubscriptionPeriodObject, toSubscriptionObject } from './subscription.object.js';
import type { SubscriptionService } from './subscription.service.js';

@Resolver(() => SubscriptionObject)
export class SubscriptionResolver implements NodeSource {
  constructor(private readonly service: SubscriptionService) {}

  @FieldResolver(() => SubscriptionPeriodObject, {
    nullable: true,
    description: "The billing period it is in now, in the customer's time zone; null when it is not in force now (not started, ended or canceled).",
  })
  currentPeriod(@Root() subscription: SubscriptionObject): Promise<SubscriptionPeriodObject | null> {
    return this.service.currentPeriod({ ...subscription, billingInterval: subscription.plan.billingInterval });
  }

  /** A subscription as a node: to ADMIN keys, and to its own customer's credentials as subscriptions(customerId:) is. */
  registerNodeTypes(nodes: NodeRegistry): void {
    nodes.register({
      typename: 'PlanSubscription',
      table: 'subscription',
      roles: [Role.ADMIN, Role.CUSTOMER],
      load: async (ctx, id) => {
        const found = await this.service.findById(id);
        return found && visibleTo(ctx.principal, { ...found, customerId: found.subscription.customerId }) && toSubscriptionObject(found);
      },
    });
  }

  @Authorized(Role.ADMIN, Role.CUSTOMER)
  @Query(() => SubscriptionConnection, { description: "A customer's subscriptions, oldest first (by start, then id)." })
  async subscriptions(@Ctx() ctx: RequestContext, @Arg('customerId', () => ID) customerId: string, @Args(() => PageArgs) args: PageArgs): Promise<ConnectionShape<SubscriptionObject>> {
    assertCustomerAccess(ctx.principal, customerId);
    return toConnection(await this.service.pageForCustomer(customerId, toPageRequest(args)), subscriptionKey, toSubscriptionObject);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => CreateSubscriptionPayload)
  async createSubscription(@Arg('input', () => CreateSubscriptionInput) input: CreateSubscriptionInput): Promise<CreateSubscriptionPayload> {
    return { subscription: toSubscriptionObject(await this.service.create(input)) };
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => ChangeSubscriptionPlanPayload, { description: 'Upgrade (at once, prorated) or downgrade (at period end) to another plan version.' })
  async changeSubscriptionPlan(@Arg('input', () => ChangeSubscriptionPlanInput) input: ChangeSubscriptionPlanInput): Promise<ChangeSubscriptionPlanPayload> {
    return { subscription: toSubscriptionObject(await this.service.changePlan(input)) };
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => CancelSubscriptionPayload)
  async cancelSubscription(@Arg('input', () => CancelSubscriptionInput) input: CancelSubscriptionInput): Promise<CancelSubscriptionPayload> {
    return { subscription: toSubscriptionObject(await this.service.cancel(input)) };
  }
}
