import { Arg, Authorized, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import type { RequestContext } from '../../graphql/context.js';
import { assertCustomerAccess, Role } from '../api-keys/index.js';
import {
  CancelSubscriptionInput,
  CancelSubscriptionPayload,
  ChangeSubscriptionPlanInput,
  ChangeSubscriptionPlanPayload,
  CreateSubscriptionInput,
  CreateSubscriptionPayload,
} from './subscription.inputs.js';
import { SubscriptionObject, toSubscriptionObject } from './subscription.object.js';
import type { SubscriptionService } from './subscription.service.js';

@Resolver()
export class SubscriptionResolver {
  constructor(private readonly service: SubscriptionService) {}

  @Authorized(Role.ADMIN, Role.CUSTOMER)
  @Query(() => [SubscriptionObject], { description: "A customer's subscriptions, oldest first." })
  async subscriptions(@Ctx() ctx: RequestContext, @Arg('customerId', () => ID) customerId: string): Promise<SubscriptionObject[]> {
    assertCustomerAccess(ctx.principal, customerId);
    return (await this.service.forCustomer(customerId, true)).map(toSubscriptionObject);
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
