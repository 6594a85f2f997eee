import { NODE_TYPENAME } from '../../graphql/node.js';

/** The loaded object, marked with its GraphQL type for `Node`'s resolveType. */
export const toNodeObject = (typename: string, value: object): object => ({ ...value, [NODE_TYPENAME]: typename });
