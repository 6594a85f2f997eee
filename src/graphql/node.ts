import { Field, ID, InterfaceType } from 'type-graphql';
import type { Role } from '../modules/api-keys/index.js';
import type { RequestContext } from './context.js';

/** Where a loaded object keeps the name of its GraphQL type, for `Node`'s resolveType. */
export const NODE_TYPENAME = Symbol('nodeTypename');

/**
 * Anything with a UUID primary key that `node(id:)` can find. The object types are plain
 * objects built by mappers, not class instances, so the type is named by the registration
 * that loaded the object (NodeRegistry), not found by `instanceof`.
 */
@InterfaceType('Node', {
  description: 'An object with a globally unique id (a UUIDv7), found again with node(id:).',
  resolveType: (value) => (value as { [NODE_TYPENAME]?: string })[NODE_TYPENAME],
})
export abstract class Node {
  @Field(() => ID)
  id!: string;
}

/**
 * One object type `node(id:)` can return. `load` is the type's own single-object path, with the
 * same authorization: null for an id the caller may not see, as for an unknown one, so that
 * `node` never tells another customer's object from a missing one.
 */
export interface NodeType {
  /** The GraphQL object type, declared with `@ObjectType(name, { implements: Node })`. */
  typename: string;
  /** The table whose `id uuid` primary key holds its rows. */
  table: string;
  /** Roles whose credentials may read it (those of its own query); others get null. */
  roles: readonly Role[];
  /** Loads the object the caller may see, mapped to its GraphQL type; null when it may not. */
  load(ctx: RequestContext, id: string): Promise<object | null>;
}

const TABLE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
const TYPE_NAME = /^[A-Z][A-Za-z0-9]*$/;

/** The node types of the schema: each module registers its own (NodeSource), the composition root collects them. */
export class NodeRegistry {
  private readonly byName = new Map<string, NodeType>();

  register(type: NodeType): void {
    if (!TYPE_NAME.test(type.typename)) throw new Error(`node type name "${type.typename}" is not a GraphQL type name`);
    if (!TABLE_NAME.test(type.table)) throw new Error(`node table "${type.table}" is not a plain table name`);
    if (this.byName.has(type.typename)) throw new Error(`node type ${type.typename} is registered twice`);
    if (this.types().some((t) => t.table === type.table)) throw new Error(`table ${type.table} already holds another node type`);
    this.byName.set(type.typename, type);
  }

  types(): NodeType[] {
    return [...this.byName.values()];
  }

  get(typename: string): NodeType | undefined {
    return this.byName.get(typename);
  }
}

/** A resolver that owns node types registers them here; the composition root calls it once. */
export interface NodeSource {
  registerNodeTypes(nodes: NodeRegistry): void;
}

export const isNodeSource = (x: object): x is NodeSource => typeof (x as Partial<NodeSource>).registerNodeTypes === 'function';
