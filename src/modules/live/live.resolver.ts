import { Arg, Authorized, ID, Resolver, Root, Subscription } from 'type-graphql';
import type { RequestContext } from '../../graphql/context.js';
import { AppError, ErrorCode } from '../../shared/errors.js';
import { AlertObject, toAlertObject, type AlertRecord } from '../alerts/index.js';
import { Role } from '../api-keys/index.js';
import type { BalanceMessage, StandingMessage, UsageMessage } from './live.bus.js';
import type { LiveFeeds } from './live-feeds.service.js';
import { CustomerStandingUpdate, once, toBalanceUpdate, toStandingUpdate, toUsageUpdate, UsageRecordedUpdate, WalletBalanceUpdate } from './live.object.js';

type SubscribeData = { args: Record<string, string | null | undefined>; context: RequestContext };

function feeds(context: RequestContext): LiveFeeds {
  if (!context.live) throw new AppError(ErrorCode.VALIDATION_FAILED, 'subscriptions are served over WebSocket (graphql-transport-ws) on /graphql');
  return context.live;
}

/** Live updates over graphql-ws. Who may watch what is checked in LiveFeeds, when subscribing and for every message. */
@Resolver()
export class LiveResolver {
  @Authorized(Role.ADMIN, Role.CUSTOMER)
  @Subscription(() => WalletBalanceUpdate, {
    description: "A wallet's (or all of a customer's wallets') balance changes, starting with the current state. Give walletId or customerId.",
    subscribe: ({ args, context }: SubscribeData) => feeds(context).balances(context.principal, { walletId: args.walletId, customerId: args.customerId }),
  })
  walletBalanceChanged(
    @Root() message: BalanceMessage,
    @Arg('walletId', () => ID, { nullable: true }) _walletId?: string,
    @Arg('customerId', () => ID, { nullable: true }) _customerId?: string,
  ): WalletBalanceUpdate {
    return toBalanceUpdate(message);
  }

  @Authorized(Role.ADMIN, Role.CUSTOMER)
  @Subscription(() => UsageRecordedUpdate, {
    description: 'Usage events of a customer (optionally of one meter) as they are committed, with the period spend so far.',
    subscribe: ({ args, context }: SubscribeData) => feeds(context).usage(context.principal, { customerId: args.customerId!, meterCode: args.meterCode }),
  })
  usageRecorded(
    @Root() message: UsageMessage,
    @Arg('customerId', () => ID) _customerId: string,
    @Arg('meterCode', () => String, { nullable: true }) _meterCode?: string,
  ): UsageRecordedUpdate {
    return toUsageUpdate(message);
  }

  @Authorized(Role.ADMIN, Role.CUSTOMER)
  @Subscription(() => CustomerStandingUpdate, {
    description: 'A customer suspended (an invoice became uncollectible under a plan whose dunning policy is SUSPEND) or reinstated (paid), as it happens.',
    subscribe: ({ args, context }: SubscribeData) => feeds(context).standing(context.principal, { customerId: args.customerId! }),
  })
  customerStandingChanged(@Root() message: StandingMessage, @Arg('customerId', () => ID) _customerId: string): CustomerStandingUpdate {
    return toStandingUpdate(message);
  }

  @Authorized(Role.ADMIN, Role.CUSTOMER)
  @Subscription(() => AlertObject, {
    description: "Alerts as they fire: a customer's, or (ADMIN keys, without customerId) every customer's.",
    subscribe: ({ args, context }: SubscribeData) => feeds(context).alerts(context.principal, { customerId: args.customerId }),
  })
  alertTriggered(@Root() alert: AlertRecord, @Arg('customerId', () => ID, { nullable: true }) _customerId?: string): AlertObject {
    return once(alert, toAlertObject);
  }
}
