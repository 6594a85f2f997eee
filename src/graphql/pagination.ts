import { ArgsType, Field, Int, ObjectType, type ClassType } from 'type-graphql';
import { ValidationError } from '../shared/errors.js';
import { Checker } from '../shared/validation.js';

/** A page request as repositories take it: at most `first` rows after the row whose key is `after`. */
export interface PageRequest {
  first: number;
  after: string | undefined;
}

export interface Page<T> {
  items: T[];
  hasNextPage: boolean;
}

export const MAX_PAGE_SIZE = 100;

@ArgsType()
export class PageArgs {
  @Field(() => Int, { defaultValue: 20, description: `Number of items, 1 to ${MAX_PAGE_SIZE}.` })
  first!: number;

  @Field(() => String, { nullable: true, description: 'The endCursor of the previous page.' })
  after?: string | null;
}

const CURSOR_PREFIX = 'c1:';

export const encodeCursor = (key: string): string => Buffer.from(CURSOR_PREFIX + key, 'utf8').toString('base64url');

/** Validates page arguments and decodes the cursor back to the key it was made from. */
export function toPageRequest(args: PageArgs): PageRequest {
  const check = new Checker();
  const first = check.integer('first', args.first, { min: 1, max: MAX_PAGE_SIZE });
  let after: string | undefined;
  if (args.after) {
    const decoded = Buffer.from(args.after, 'base64url').toString('utf8');
    if (!decoded.startsWith(CURSOR_PREFIX) || decoded.length > 200) check.fail('after', 'is not a cursor returned by this API');
    else after = decoded.slice(CURSOR_PREFIX.length);
  }
  check.done();
  return { first: first ?? 20, after };
}

@ObjectType('PageInfo')
export class PageInfo {
  @Field(() => Boolean)
  hasNextPage!: boolean;

  @Field(() => String, { nullable: true })
  endCursor!: string | null;
}

export interface ConnectionShape<T> {
  edges: Array<{ cursor: string; node: T }>;
  nodes: T[];
  pageInfo: PageInfo;
}

/** Declares the `<Name>Connection` and `<Name>Edge` types for a node type. */
export function connectionType<T extends object>(name: string, node: ClassType<T>): ClassType<ConnectionShape<T>> {
  @ObjectType(`${name}Edge`)
  class Edge {
    @Field(() => String)
    cursor!: string;

    @Field(() => node)
    node!: T;
  }

  @ObjectType(`${name}Connection`)
  class Connection {
    @Field(() => [Edge])
    edges!: Edge[];

    @Field(() => [node], { description: 'The nodes of `edges`, for clients that need no cursors.' })
    nodes!: T[];

    @Field(() => PageInfo)
    pageInfo!: PageInfo;
  }
  return Connection;
}

/** Maps a repository page to a connection, cursoring on `keyOf(item)`. */
export function toConnection<E, T>(page: Page<E>, keyOf: (item: E) => string, map: (item: E) => T): ConnectionShape<T> {
  const edges = page.items.map((item) => ({ cursor: encodeCursor(keyOf(item)), node: map(item) }));
  return {
    edges,
    nodes: edges.map((e) => e.node),
    pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null },
  };
}

/**
 * A keyset position on (a timestamp to the microsecond, an id), as a cursor key carries it:
 * `<YYYY-MM-DDTHH:MM:SS.ffffffZ>|<uuid>`. The timestamp is PostgreSQL's own text (see
 * `timestampKey` in src/db/keyset.ts): a JS Date would lose its microseconds and skip or repeat rows.
 */
export interface TimeIdPosition {
  at: string;
  id: string;
}

const TIME_ID = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z)\|([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

export const timeIdKey = (p: TimeIdPosition): string => `${p.at}|${p.id}`;

/** The position an `after` key names; VALIDATION_FAILED when it is not one `timeIdKey` made. */
export function toTimeIdPosition(after: string | undefined): TimeIdPosition | null {
  if (after === undefined) return null;
  const match = TIME_ID.exec(after);
  if (!match) throw invalidCursor();
  return { at: match[1]!, id: match[2]! };
}

/** VALIDATION_FAILED on `after`: a cursor of another list, or a key that does not parse. */
export const invalidCursor = (): ValidationError => new ValidationError([{ path: 'after', message: 'is not a cursor of this list' }]);

/**
 * A page of a list held in memory, ordered by `keyOf` (ascending, by code unit): the items whose
 * key follows `after`. The list is sorted here, so a page never depends on the order it came in.
 */
export function pageInMemory<T>(items: readonly T[], keyOf: (item: T) => string, req: PageRequest): Page<T> {
  const sorted = [...items].sort((a, b) => compareKeys(keyOf(a), keyOf(b)));
  const rest = req.after === undefined ? sorted : sorted.filter((item) => compareKeys(keyOf(item), req.after!) > 0);
  return { items: rest.slice(0, req.first), hasNextPage: rest.length > req.first };
}

const compareKeys = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
