import { Arg, Args, Authorized, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import type { RequestContext } from '../../graphql/context.js';
import type { NodeRegistry, NodeSource } from '../../graphql/node.js';
import { connectionType, PageArgs, timeIdKey, toConnection, toPageRequest, type ConnectionShape } from '../../graphql/pagination.js';
import { forbidden } from '../../shared/errors.js';
import { assertCustomerAccess, Permission, type Principal, Role, visibleTo } from '../api-keys/index.js';
import {
  AlertDefinitionObject,
  CreateAlertDefinitionInput,
  CreateAlertDefinitionPayload,
  DeleteAlertDefinitionInput,
  DeleteAlertDefinitionPayload,
  SetWalletAutoRechargeInput,
  SetWalletAutoRechargePayload,
  toAlertDefinitionObject,
  UpdateAlertDefinitionInput,
  UpdateAlertDefinitionPayload,
} from './alert.inputs.js';
import { AlertObject, toAlertObject, toWalletAutoRechargeObject } from './alert.object.js';
import { alertCursor } from './alert.repository.js';
import type { AlertService } from './alert.service.js';

const AlertConnection = connectionType('Alert', AlertObject);
const AlertDefinitionConnection = connectionType('AlertDefinition', AlertDefinitionObject);

/**
 * The customer a non-ADMIN caller acts for (a customer token with the MANAGE scope); null for
 * ADMIN. A caller without a customer gets an id no customer has, so it reaches nothing.
 */
const actingFor = (principal: Principal): string | null => (principal.role === Role.ADMIN ? null : (principal.customerId ?? 'no-customer'));

@Resolver()
export class AlertResolver implements NodeSource {
  constructor(private readonly service: AlertService) {}

  /** Alerts and definitions as nodes: a customer's own to its credentials, defaults (no customer) to ADMIN only. */
  registerNodeTypes(nodes: NodeRegistry): void {
    nodes.register({
      typename: 'Alert',
      table: 'alert',
      roles: [Role.ADMIN, Role.CUSTOMER],
      load: async (ctx, id) => {
        const alert = visibleTo(ctx.principal, await this.service.alert(id));
        return alert && toAlertObject(alert);
      },
    });
    nodes.register({
      typename: 'AlertDefinition',
      table: 'alert_definition',
      roles: [Role.ADMIN, Role.CUSTOMER],
      load: async (ctx, id) => {
        const found = await this.service.get(id);
        const definition = found && (found.customerId === null ? (ctx.principal.role === Role.ADMIN ? found : null) : visibleTo(ctx.principal, { ...found, customerId: found.customerId }));
        return definition && toAlertDefinitionObject(definition);
      },
    });
  }

  @Authorized(Role.ADMIN, Permission.CUSTOMER_MANAGE)
  @Mutation(() => CreateAlertDefinitionPayload, {
    description: "Watches a threshold; if the value is already across it, the alert fires at once. A customer token with the MANAGE scope may watch its own customer's figures (no defaults for new wallets, no auto top-ups).",
  })
  async createAlertDefinition(@Ctx() ctx: RequestContext, @Arg('input', () => CreateAlertDefinitionInput) input: CreateAlertDefinitionInput): Promise<CreateAlertDefinitionPayload> {
    if (input.customerId) assertCustomerAccess(ctx.principal, input.customerId);
    const { definition, fired } = await this.service.create({ ...input, asCustomer: actingFor(ctx.principal) });
    return { definition: toAlertDefinitionObject(definition), fired: fired.map(toAlertObject) };
  }

  @Authorized(Role.ADMIN, Permission.CUSTOMER_MANAGE)
  @Mutation(() => UpdateAlertDefinitionPayload, { description: "A customer token with the MANAGE scope may change its own customer's definitions." })
  async updateAlertDefinition(@Ctx() ctx: RequestContext, @Arg('input', () => UpdateAlertDefinitionInput) input: UpdateAlertDefinitionInput): Promise<UpdateAlertDefinitionPayload> {
    const { definition, fired } = await this.service.update({ ...input, asCustomer: actingFor(ctx.principal) });
    return { definition: toAlertDefinitionObject(definition), fired: fired.map(toAlertObject) };
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => SetWalletAutoRechargePayload, {
    description:
      "Sets a wallet's auto-recharge: below the threshold, the customer's payment provider is charged and the wallet topped up, once per crossing (MANUAL collection: wallet.top_up_requested instead). Setting it again replaces it and checks the threshold at once.",
  })
  async setWalletAutoRecharge(@Arg('input', () => SetWalletAutoRechargeInput) input: SetWalletAutoRechargeInput): Promise<SetWalletAutoRechargePayload> {
    const { definition, fired } = await this.service.setAutoRecharge(input);
    return { autoRecharge: toWalletAutoRechargeObject(definition), fired: fired.map(toAlertObject) };
  }

  @Authorized(Role.ADMIN, Permission.CUSTOMER_MANAGE)
  @Mutation(() => DeleteAlertDefinitionPayload, { description: "Stops watching; the alerts it recorded stay. A customer token with the MANAGE scope may delete its own customer's definitions (not an auto-recharge)." })
  async deleteAlertDefinition(@Ctx() ctx: RequestContext, @Arg('input', () => DeleteAlertDefinitionInput) input: DeleteAlertDefinitionInput): Promise<DeleteAlertDefinitionPayload> {
    return { id: (await this.service.remove(input.id, actingFor(ctx.principal))).id };
  }

  @Authorized(Role.ADMIN, Role.CUSTOMER)
  @Query(() => AlertDefinitionConnection, { description: "A customer's alert definitions, or (ADMIN, without customerId) the defaults for new wallets, oldest first." })
  async alertDefinitions(
    @Ctx() ctx: RequestContext,
    @Arg('customerId', () => ID, { nullable: true }) customerId: string | null | undefined,
    @Args(() => PageArgs) args: PageArgs,
  ): Promise<ConnectionShape<AlertDefinitionObject>> {
    if (customerId) assertCustomerAccess(ctx.principal, customerId);
    else if (ctx.principal.role !== Role.ADMIN) throw forbidden('only an ADMIN key may read the defaults');
    const page = await this.service.definitions(customerId ?? null, toPageRequest(args));
    return toConnection(page, (r) => timeIdKey(r.position), (r) => toAlertDefinitionObject(r.definition));
  }

  @Authorized(Role.ADMIN, Role.CUSTOMER)
  @Query(() => AlertConnection, { description: "A customer's alerts, newest first." })
  async alerts(@Ctx() ctx: RequestContext, @Arg('customerId', () => ID) customerId: string, @Args(() => PageArgs) args: PageArgs): Promise<ConnectionShape<AlertObject>> {
    assertCustomerAccess(ctx.principal, customerId);
    return toConnection(await this.service.alerts(customerId, toPageRequest(args)), alertCursor, toAlertObject);
  }
}
