import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { buildSchema, type ContainerType } from 'type-graphql';
import { AlertResolver } from '../modules/alerts/alert.resolver.js';
import { ApiKeyResolver } from '../modules/api-keys/api-key.resolver.js';
import { CurrencyResolver } from '../modules/currencies/currency.resolver.js';
import { CustomerResolver } from '../modules/customers/customer.resolver.js';
import { CustomerTokenResolver } from '../modules/customer-tokens/customer-token.resolver.js';
import { InvoiceResolver } from '../modules/invoices/invoice.resolver.js';
import { TaxRateResolver } from '../modules/taxes/tax-rate.resolver.js';
import { LiveResolver } from '../modules/live/live.resolver.js';
import { MeterResolver } from '../modules/meters/meter.resolver.js';
import { PlanResolver } from '../modules/plans/plan.resolver.js';
import { ReservationResolver } from '../modules/reservations/reservation.resolver.js';
import { RuleSetResolver } from '../modules/rules/rule-set.resolver.js';
import { SubscriptionResolver } from '../modules/subscriptions/subscription.resolver.js';
import { UsageResolver } from '../modules/usage/usage.resolver.js';
import { UsageReportResolver } from '../modules/usage-reports/usage-report.resolver.js';
import { CustomerWalletsResolver, WalletResolver } from '../modules/wallets/wallet.resolver.js';
import { WebhookResolver } from '../modules/webhooks/webhook.resolver.js';
import { authChecker } from './auth-checker.js';
import { DateTimeScalar } from './scalars/date-time.scalar.js';

/** Every resolver class; the composition root provides an instance of each. */
export const resolverClasses = [
  AlertResolver,
  ApiKeyResolver,
  CurrencyResolver,
  CustomerResolver,
  CustomerTokenResolver,
  CustomerWalletsResolver,
  InvoiceResolver,
  LiveResolver,
  MeterResolver,
  PlanResolver,
  ReservationResolver,
  RuleSetResolver,
  SubscriptionResolver,
  TaxRateResolver,
  UsageResolver,
  UsageReportResolver,
  WalletResolver,
  WebhookResolver,
] as const;

export type ResolverInstances = Map<Function, object>;

/** Builds the executable schema with the given resolver instances. */
export async function buildAppSchema(instances: ResolverInstances): Promise<GraphQLSchema> {
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
