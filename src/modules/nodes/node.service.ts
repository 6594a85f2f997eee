import type { RequestContext } from '../../graphql/context.js';
import type { NodeRegistry } from '../../graphql/node.js';
import { isUuid } from '../../shared/ids.js';
import type { NodeRepository } from './node.repository.js';

/** The object of type `typename` that `node(id:)` answers with. */
export interface FoundNode {
  typename: string;
  value: object;
}

/**
 * Finds any registered object by id: the table that holds it, then its type's own load, which
 * applies that type's authorization. Whatever the caller may not see answers as an unknown id
 * does (null): a malformed id, an id of no table, a type its role may not read, another
 * customer's object.
 */
export class NodeService {
  constructor(
    private readonly nodes: NodeRegistry,
    private readonly repository: NodeRepository,
  ) {}

  async find(ctx: RequestContext, id: string): Promise<FoundNode | null> {
    if (!isUuid(id)) return null;
    // Only the tables of types the caller's role may read: the others answer null anyway.
    const readable = this.nodes.types().filter((t) => t.roles.includes(ctx.principal.role));
    const typename = await this.repository.typenameOf(id.toLowerCase(), readable);
    const type = typename === null ? undefined : this.nodes.get(typename);
    if (!type) return null;
    const value = await type.load(ctx, id);
    return value && { typename: type.typename, value };
  }
}
