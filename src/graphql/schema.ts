import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { buildSchema, type ContainerType } from 'type-graphql';
import { ApiKeyResolver } from '../modules/api-keys/api-key.resolver.js';
import { CurrencyResolver } from '../modules/currencies/currency.resolver.js';
import { CustomerResolver } from '../modules/customers/customer.resolver.js';
import { MeterResolver } from '../modules/meters/meter.resolver.js';
import { PlanResolver } from '../modules/plans/plan.resolver.js';
import { ReservationResolver } from '../modules/reservations/reservation.resolver.js';
import { RuleSetResolver } from '../modules/rules/rule-set.resolver.js';
import { SubscriptionResolver } from '../modules/subscriptions/subscription.resolver.js';
import { UsageResolver } from '../modules/usage/usage.resolver.js';
import { CustomerWalletsResolver, WalletResolver } from '../modules/wallets/wallet.resolver.js';
import { authChecker } from './auth-checker.js';

/** Every resolver class; the composition root provides an instance of each. */
export const resolverClasses = [
  ApiKeyResolver,
  CurrencyResolver,
  CustomerResolver,
  CustomerWalletsResolver,
  MeterResolver,
  PlanResolver,
  ReservationResolver,
  RuleSetResolver,
  SubscriptionResolver,
  UsageResolver,
  WalletResolver,
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
    authChecker,
    authMode: 'error',
    validate: false,
  });
}

/** The schema's SDL as committed in schema.graphql: sorted, so only real changes show in diffs. */
export function printAppSchema(schema: GraphQLSchema): string {
  return printSchema(lexicographicSortSchema(schema)) + '\n';
}
