import { ApiKeySchema } from '../modules/api-keys/api-key.entity.js';
import { CreditUnitSchema } from '../modules/currencies/credit-unit.entity.js';
import { CustomerSchema } from '../modules/customers/customer.entity.js';
import { CustomerTokenSchema } from '../modules/customer-tokens/customer-token.entity.js';
import { MeterSchema } from '../modules/meters/meter.entity.js';
import { PlanChargeSchema, PlanSchema } from '../modules/plans/plan.entity.js';
import { SubscriptionSchema } from '../modules/subscriptions/subscription.entity.js';
import { CreditBlockSchema, LedgerEntrySchema, WalletSchema } from '../modules/wallets/wallet.entity.js';

/** Every entity schema the ORM maps. */
export const entities = [
  ApiKeySchema,
  CreditUnitSchema,
  CustomerSchema,
  CustomerTokenSchema,
  MeterSchema,
  PlanSchema,
  PlanChargeSchema,
  WalletSchema,
  CreditBlockSchema,
  LedgerEntrySchema,
  SubscriptionSchema,
];
