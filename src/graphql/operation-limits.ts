import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import { GraphQLError, getNamedType, isListType, isNonNullType, visit, type DocumentNode, type GraphQLOutputType, type GraphQLSchema, type ValidationRule } from 'graphql';
import { getComplexity, simpleEstimator, type ComplexityEstimator } from 'graphql-query-complexity';
import type { Limits } from '../config/config.js';
import { Role, type Principal } from '../modules/api-keys/index.js';
import { ErrorCode } from '../shared/errors.js';

/*
 * What one GraphQL operation may ask, checked before it runs, on HTTP and WebSocket alike:
 * depth, aliases and directives by graphql-armor's validation rules, tokens by graphql-js's
 * parser (maxTokens), and a cost estimated with graphql-query-complexity from a model of what
 * the expensive fields do, against a budget that depends on the credential.
 */

/** Marks an error of these limits, so the error formatter answers QUERY_TOO_COMPLEX. */
export const LIMIT_MARK = 'operationLimit';

export const tooComplex = (message: string, details: Record<string, unknown>): GraphQLError =>
  new GraphQLError(message, { extensions: { code: ErrorCode.QUERY_TOO_COMPLEX, retryable: false, [LIMIT_MARK]: true, ...details } });

/** graphql-armor reports through this: the rule's own error is replaced by one with our code and figures. */
const reject = (limit: string, max: number) => [
  (ctx: { reportError(e: GraphQLError): void } | null, error: GraphQLError) => {
    const found = Number(/found (\d+)/.exec(error.message)?.[1] ?? NaN);
    ctx?.reportError(tooComplex(`the operation exceeds the ${limit} limit of ${max}${Number.isNaN(found) ? '' : ` (it has ${found})`}`, { limit, max, ...(Number.isNaN(found) ? {} : { found }) }));
  },
];

/** Validation rules for depth, aliases and directives. */
export function limitRules(limits: Limits): ValidationRule[] {
  return [
    maxDepthRule({ n: limits.maxDepth, propagateOnRejection: false, onReject: reject('depth', limits.maxDepth), exposeLimits: true }),
    maxAliasesRule({ n: limits.maxAliases, propagateOnRejection: false, onReject: reject('aliases', limits.maxAliases), exposeLimits: true }),
    maxDirectivesRule({ n: limits.maxDirectives, propagateOnRejection: false, onReject: reject('directives', limits.maxDirectives), exposeLimits: true }),
  ] as ValidationRule[];
}

/** graphql-js's parse error for too many tokens, turned into ours. */
export function tokenLimitError(error: { message: string }, limits: Limits): GraphQLError | undefined {
  if (!/Document contains more tha[nt] \d+ tokens/.test(error.message)) return undefined;
  return tooComplex(`the operation exceeds the tokens limit of ${limits.maxTokens}`, { limit: 'tokens', max: limits.maxTokens });
}

const HOUR = 3_600_000;
const BUCKET_MS: Record<string, number> = { HOUR, DAY: 24 * HOUR, MONTH: 30 * 24 * HOUR };
const MAX_BUCKETS = 1_000;
/** Groups a grouping key is taken to split a bucket into (a meter, a dimension value). */
const GROUPS_PER_KEY = 5;
/**
 * Items assumed in a plain list field whose size the query does not set: such lists are small by
 * what they hold (an invoice's lines, a line's tiers), not by what a caller asks.
 */
const LIST_SIZE = 3;

/** Types whose lists `usage` has already counted (buckets × groups). */
const SIZED_BY_USAGE = new Set(['UsageReport', 'UsageBucket']);

/**
 * Fixed costs of root query fields that compute much: each reads and aggregates a period's usage
 * (`usageEvents` reads raw events, by index with a customer and by a few days' partitions
 * without one, on top of what its page costs). Only on Query: `PlanSubscription.currentPeriod`
 * shares a name with the root `currentPeriod` but reads no usage.
 */
const FIELD_COST: Record<string, number> = { upcomingInvoice: 500, currentPeriod: 50, previewCharge: 20, simulatePricing: 1000, margins: 500, usageEvents: 50 };

const time = (x: unknown): number | null => {
  const t = x instanceof Date ? x.getTime() : typeof x === 'string' ? Date.parse(x) : NaN;
  return Number.isFinite(t) ? t : null;
};

/** The number of buckets × groups a `usage` query asks for. */
function usageCells(args: Record<string, unknown>): number {
  const from = time(args.from);
  const to = time(args.to);
  const width = BUCKET_MS[String(args.granularity)] ?? HOUR;
  const buckets = from === null || to === null || to <= from ? 1 : Math.min(MAX_BUCKETS, Math.ceil((to - from) / width));
  const groupBy = (args.groupBy ?? {}) as { meter?: boolean; dimensions?: unknown[] };
  const keys = (groupBy.meter ? 1 : 0) + (Array.isArray(groupBy.dimensions) ? groupBy.dimensions.length : 0);
  return buckets * GROUPS_PER_KEY ** Math.min(keys, 4);
}

/**
 * What a usage export (`GET /v1/usage/export`) costs: what the same `usage` query would, one
 * point per row it may return (bucket × group), since a CSV row carries no nested selection.
 */
export function usageExportCost(args: { from: Date; to: Date; granularity: string; groupBy: { meter: boolean; dimensions: string[] } }): number {
  return 20 + usageCells(args);
}

const isList = (type: GraphQLOutputType): boolean => isListType(isNonNullType(type) ? type.ofType : type);

/**
 * The cost model. A field costs 1 plus what it selects; a connection (`first`) what it selects
 * times `first`; a plain list ten times; `usage` what it selects once per bucket and group it may
 * return; `upcomingInvoice`, `currentPeriod` and `previewCharge` a fixed amount for the work
 * behind them.
 */
const modelEstimator: ComplexityEstimator = ({ type, field, args, childComplexity }) => {
  const own = type.name === 'Query' ? (FIELD_COST[field.name] ?? 0) : 0;
  // Inside a usage report, lists are as long as its buckets and groups, which `usage` counts.
  if (SIZED_BY_USAGE.has(type.name)) return 1 + childComplexity;
  if (field.name === 'usage' && args.granularity !== undefined) return 20 + usageCells(args) * Math.max(1, childComplexity);
  if (typeof args.first === 'number') return 1 + own + args.first * Math.max(1, childComplexity);
  if (isList(field.type) && getNamedType(field.type).toString() !== 'String') return 1 + own + LIST_SIZE * childComplexity;
  return own > 0 ? own + childComplexity : undefined;
};

/**
 * What an operation costs by the model; null when its variables do not coerce (execution then
 * refuses them with VALIDATION_FAILED, naming the variable).
 */
export function operationCost(schema: GraphQLSchema, document: DocumentNode, operationName: string | undefined, variables: Record<string, unknown> | undefined): number | null {
  const fixed = !sizedByVariables(document);
  const known = fixed ? fixedCosts.get(document)?.get(operationName ?? '') : undefined;
  if (known !== undefined) return known;
  let cost: number;
  try {
    cost = getComplexity({ schema, query: document, operationName, variables: variables ?? {}, estimators: [modelEstimator, simpleEstimator({ defaultComplexity: 1 })] });
  } catch (err) {
    if (err instanceof GraphQLError) return null;
    throw err;
  }
  if (fixed) {
    const costs = fixedCosts.get(document) ?? new Map<string, number>();
    costs.set(operationName ?? '', cost);
    fixedCosts.set(document, costs);
  }
  return cost;
}

/** The arguments the cost model reads. */
const SIZING_ARGUMENTS = new Set(['first', 'granularity', 'from', 'to', 'groupBy']);

/**
 * Costs of documents whose cost no variable changes, per operation name: worked out once per
 * parsed document (the server keeps parsed documents), not once per request. A batch's cost is
 * the same for 1 event or 1,000, and working it out coerces every event.
 */
const fixedCosts = new WeakMap<DocumentNode, Map<string, number>>();
const sized = new WeakMap<DocumentNode, boolean>();

/** Whether a variable reaches an argument the cost model reads, or decides whether a field is included. */
function sizedByVariables(document: DocumentNode): boolean {
  let known = sized.get(document);
  if (known === undefined) {
    known = false;
    visit(document, {
      Directive(node) {
        visit(node, { Variable() { known = true; } });
        return false;
      },
      Argument(node) {
        if (!SIZING_ARGUMENTS.has(node.name.value)) return false;
        visit(node.value, { Variable() { known = true; } });
        return false;
      },
    });
    sized.set(document, known);
  }
  return known;
}

/** The most one operation of this credential may cost: customer tokens least, then CUSTOMER keys, INGEST, ADMIN. */
export function costLimitOf(principal: Principal, limits: Limits): number {
  if (principal.role === Role.ADMIN) return limits.cost.admin;
  if (principal.role === Role.INGEST) return limits.cost.ingest;
  return principal.readOnly ? limits.cost.customerToken : limits.cost.customer;
}

/** Refuses an operation over its credential's budget, with the cost and the limit. */
export function checkCost(cost: number, principal: Principal, limits: Limits): void {
  const limit = costLimitOf(principal, limits);
  if (cost > limit) throw tooComplex(`the operation costs ${cost}, more than the ${limit} this credential may spend on one operation`, { limit: 'cost', cost, max: limit });
}
