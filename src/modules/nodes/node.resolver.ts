import { Arg, Authorized, Ctx, ID, Query, Resolver } from 'type-graphql';
import type { RequestContext } from '../../graphql/context.js';
import { Node } from '../../graphql/node.js';
import { Role } from '../api-keys/index.js';
import { toNodeObject } from './node.object.js';
import type { NodeService } from './node.service.js';

@Resolver()
export class NodeResolver {
  constructor(private readonly service: NodeService) {}

  // Every role may ask; each type's own roles (NodeType.roles) decide what it gets.
  @Authorized(Role.ADMIN, Role.INGEST, Role.CUSTOMER)
  @Query(() => Node, {
    nullable: true,
    description: "Any object with an id, loaded as its own query loads it: null for an unknown id, a malformed one, or one the credential may not see (another customer's, or a type its role may not read).",
  })
  async node(@Ctx() ctx: RequestContext, @Arg('id', () => ID) id: string): Promise<object | null> {
    const found = await this.service.find(ctx, id);
    return found && toNodeObject(found.typename, found.value);
  }
}
