import { Arg, Authorized, Ctx, Mutation, Query, Resolver } from 'type-graphql';
import type { RequestContext } from '../../graphql/context.js';
import type { NodeRegistry, NodeSource } from '../../graphql/node.js';
import { Role } from '../api-keys/index.js';
import { CreateCustomerTokenInput, CreateCustomerTokenPayload, RevokeCustomerTokenInput, RevokeCustomerTokenPayload } from './customer-token.inputs.js';
import { toCustomerTokenObject, toViewerObject, ViewerObject } from './customer-token.object.js';
import type { CustomerTokenService } from './customer-token.service.js';

@Resolver()
export class CustomerTokenResolver implements NodeSource {
  constructor(private readonly tokens: CustomerTokenService) {}

  /** A customer token as a node, for ADMIN keys, which alone mint and revoke them. */
  registerNodeTypes(nodes: NodeRegistry): void {
    nodes.register({
      typename: 'CustomerToken',
      table: 'customer_token',
      roles: [Role.ADMIN],
      load: async (_ctx, id) => {
        const token = await this.tokens.find(id);
        return token && toCustomerTokenObject(token);
      },
    });
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => CreateCustomerTokenPayload, { description: "Mints a short-lived token that may read (query and subscribe to) one customer's data and, with the MANAGE scope, set that customer's spending cap and alert thresholds; nothing else." })
  async createCustomerToken(@Ctx() ctx: RequestContext, @Arg('input', () => CreateCustomerTokenInput) input: CreateCustomerTokenInput): Promise<CreateCustomerTokenPayload> {
    const created = await this.tokens.create({ ...input, createdByKeyId: ctx.principal.keyId });
    return { customerToken: toCustomerTokenObject(created.customerToken), token: created.token };
  }

  @Authorized(Role.ADMIN, Role.INGEST, Role.CUSTOMER)
  @Query(() => ViewerObject, { description: 'Who is asking: the role, customer and powers of the credential that sent the request.' })
  viewer(@Ctx() ctx: RequestContext): ViewerObject {
    return toViewerObject(ctx.principal);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => RevokeCustomerTokenPayload, { description: 'Revokes a token on every instance; sockets opened with it are closed (4403).' })
  async revokeCustomerToken(@Arg('input', () => RevokeCustomerTokenInput) input: RevokeCustomerTokenInput): Promise<RevokeCustomerTokenPayload> {
    return { customerToken: toCustomerTokenObject(await this.tokens.revoke(input.id)) };
  }
}
