import { Arg, Args, Authorized, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import type { RequestContext } from '../../graphql/context.js';
import type { NodeRegistry, NodeSource } from '../../graphql/node.js';
import { PageArgs, toConnection, toPageRequest, type ConnectionShape } from '../../graphql/pagination.js';
import { assertCustomerAccess, Permission, Role, visibleTo } from '../api-keys/index.js';
import { CustomerConnection, CustomerObject, toCustomerObject } from './customer.object.js';
import {
  CreateCustomerInput,
  CreateCustomerPayload,
  SetCustomerPaymentMethodInput,
  SetCustomerPaymentMethodPayload,
  SetCustomerSpendingCapInput,
  SetCustomerSpendingCapPayload,
  UpdateCustomerInput,
  UpdateCustomerPayload,
} from './customer.inputs.js';
import type { CustomerService } from './customer.service.js';

@Resolver(() => CustomerObject)
export class CustomerResolver implements NodeSource {
  constructor(private readonly service: CustomerService) {}

  /** A customer as a node, loaded as customer(id:) loads it. */
  registerNodeTypes(nodes: NodeRegistry): void {
    nodes.register({ typename: 'Customer', table: 'customer', roles: [Role.ADMIN, Role.CUSTOMER], load: (ctx, id) => this.customer(ctx, id, null) });
  }

  @Authorized(Role.ADMIN, Role.CUSTOMER)
  @Query(() => CustomerObject, { nullable: true, description: 'One customer, by id or by external id (exactly one).' })
  async customer(
    @Ctx() ctx: RequestContext,
    @Arg('id', () => ID, { nullable: true }) id?: string | null,
    @Arg('externalId', () => String, { nullable: true }) externalId?: string | null,
  ): Promise<CustomerObject | null> {
    if (ctx.principal.role === Role.INGEST) assertCustomerAccess(ctx.principal, '');
    // Another customer answers as an unknown one does (null), not FORBIDDEN.
    const found = await this.service.find({ id, externalId });
    const customer = found && visibleTo(ctx.principal, { ...found, customerId: found.id });
    return customer && toCustomerObject(found);
  }

  @Authorized(Role.ADMIN)
  @Query(() => CustomerConnection, { description: 'Live customers, oldest first; with testClockId, the customers on that test clock instead.' })
  async customers(
    @Args(() => PageArgs) args: PageArgs,
    @Arg('testClockId', () => ID, { nullable: true }) testClockId?: string | null,
  ): Promise<ConnectionShape<CustomerObject>> {
    return toConnection(await this.service.list(toPageRequest(args), testClockId ?? null), (c) => c.id, toCustomerObject);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => CreateCustomerPayload)
  async createCustomer(@Arg('input', () => CreateCustomerInput) input: CreateCustomerInput): Promise<CreateCustomerPayload> {
    return { customer: toCustomerObject(await this.service.create(input)) };
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => UpdateCustomerPayload)
  async updateCustomer(@Arg('input', () => UpdateCustomerInput) input: UpdateCustomerInput): Promise<UpdateCustomerPayload> {
    return { customer: toCustomerObject(await this.service.update(input)) };
  }

  @Authorized(Role.ADMIN, Permission.CUSTOMER_MANAGE)
  @Mutation(() => SetCustomerSpendingCapPayload, { description: "Sets or removes a customer's spending cap; a customer token with the MANAGE scope may set its own customer's." })
  async setCustomerSpendingCap(@Ctx() ctx: RequestContext, @Arg('input', () => SetCustomerSpendingCapInput) input: SetCustomerSpendingCapInput): Promise<SetCustomerSpendingCapPayload> {
    assertCustomerAccess(ctx.principal, input.customerId);
    return { customer: toCustomerObject(await this.service.update({ id: input.customerId, spendingCap: input.spendingCap })) };
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => SetCustomerPaymentMethodPayload, { description: "Sets who collects the customer's invoices (MANUAL or STRIPE) and the provider's references. Invoices finalized from now on follow it." })
  async setCustomerPaymentMethod(@Arg('input', () => SetCustomerPaymentMethodInput) input: SetCustomerPaymentMethodInput): Promise<SetCustomerPaymentMethodPayload> {
    return { customer: toCustomerObject(await this.service.setPaymentMethod(input)) };
  }
}
