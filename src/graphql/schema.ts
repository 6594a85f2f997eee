import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { buildSchema, type ContainerType } from 'type-graphql';
import { AlertResolver } from '../modules/alerts/index.js';
import { ApiKeyResolver } from '../modules/api-keys/index.js';
import { CurrencyResolver } from '../modules/currencies/index.js';
import { CustomerResolver } from '../modules/customers/index.js';
import { CustomerTokenResolver } from '../modules/customer-tokens/index.js';
import { InvoiceDocumentResolver, InvoiceResolver } from '../modules/invoices/index.js';
import { TaxRateResolver } from '../modules/taxes/index.js';
import { CustomerTestClockResolver, TestClockResolver } from '../modules/test-clocks/index.js';
import { LiveResolver } from '../modules/live/index.js';
import { MarginResolver } from '../modules/margins/index.js';
import { MeterResolver } from '../modules/meters/index.js';
import { NodeResolver } from '../modules/nodes/index.js';
import { InvoicePaymentsResolver, PaymentResolver } from '../modules/payments/index.js';
import { PlanResolver } from '../modules/plans/index.js';
import { ReservationResolver } from '../modules/reservations/index.js';
import { RuleSetResolver } from '../modules/rules/index.js';
import { SimulationResolver } from '../modules/simulations/index.js';
import { SubscriptionResolver } from '../modules/subscriptions/index.js';
import { UsageResolver } from '../modules/usage/index.js';
import { UsageEventListResolver, UsageReportResolver } from '../modules/usage-reports/index.js';
import { CustomerWalletsResolver, WalletResolver } from '../modules/wallets/index.js';
import { WebhookResolver } from '../modules/webhooks/index.js';
import { authChecker } from './auth-checker.js';
import { isNodeSource, NodeRegistry } from './node.js';
import { DateTimeScalar } from './scalars/date-time.scalar.js';

/** Every resolver class; the composition root provides an instance of each. */
export const resolverClasses = [
  AlertResolver,
  ApiKeyResolver,
  CurrencyResolver,
  CustomerResolver,
  CustomerTestClockResolver,
  CustomerTokenResolver,
  CustomerWalletsResolver,
  InvoiceDocumentResolver,
  InvoicePaymentsResolver,
  InvoiceResolver,
  LiveResolver,
  MarginResolver,
  MeterResolver,
  NodeResolver,
  PaymentResolver,
  PlanResolver,
  ReservationResolver,
  RuleSetResolver,
  SimulationResolver,
  SubscriptionResolver,
  TaxRateResolver,
  TestClockResolver,
  UsageEventListResolver,
  UsageResolver,
  UsageReportResolver,
  WalletResolver,
  WebhookResolver,
] as const;

export type ResolverInstances = Map<Function, object>;

/** Builds the executable schema with the given resolver instances; `nodes` receives their node types. */
export async function buildAppSchema(instances: ResolverInstances, nodes = new NodeRegistry()): Promise<GraphQLSchema> {
  // Each resolver that owns node types registers them, for node(id:) (src/graphql/node.ts).
  for (const instance of instances.values()) if (isNodeSource(instance)) instance.registerNodeTypes(nodes);
  const container: ContainerType = {
    get(cls: Function) {
      const instance = instances.get(cls);
      if (!instance) throw new Error(`no instance of resolver ${cls.name}`);
      return instance;
    },
  };
  return buildSchema({
    resolvers: [...resolverClasses],
    container,
    // Every subscription brings its own source (LiveFeeds); type-graphql still asks for a PubSub.
    pubSub: {
      publish: () => {
        throw new Error('subscriptions are fed by LiveFeeds, not by topics');
      },
      subscribe: () => {
        throw new Error('subscriptions are fed by LiveFeeds, not by topics');
      },
    },
    // Every Date input and output: type-graphql's DateTimeISO, with inputs limited to sane instants.
    scalarsMap: [{ type: Date, scalar: DateTimeScalar }],
    authChecker,
    authMode: 'error',
    validate: false,
  });
}

/** The schema's SDL as committed in schema.graphql: sorted, so only real changes show in diffs. */
export function printAppSchema(schema: GraphQLSchema): string {
  return printSchema(lexicographicSortSchema(schema)) + '\n';
}
