import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261122000100Foundation } from './Migration20261122000100Foundation.js';
import { Migration20261122000200RuleSets } from './Migration20261122000200RuleSets.js';
import { Migration20261122000300Usage } from './Migration20261122000300Usage.js';
import { Migration20261122000400UsageCommit } from './Migration20261122000400UsageCommit.js';
import { Migration20261122000500Alerts } from './Migration20261122000500Alerts.js';
import { Migration20261122000600Invoicing } from './Migration20261122000600Invoicing.js';
import { Migration20261122000700UsageRollups } from './Migration20261122000700UsageRollups.js';
import { Migration20261122000800CustomerTokens } from './Migration20261122000800CustomerTokens.js';
import { Migration20261201000100ReservationFacts } from './Migration20261201000100ReservationFacts.js';
import { Migration20261201000200InvoiceLineAdjustments } from './Migration20261201000200InvoiceLineAdjustments.js';
import { Migration20261201000300MeterProperty } from './Migration20261201000300MeterProperty.js';
import { Migration20261201000400SpendingCapGuard } from './Migration20261201000400SpendingCapGuard.js';
import { Migration20261201000600CommitPath } from './Migration20261201000600CommitPath.js';
import { Migration20261201000700PeriodLineTotals } from './Migration20261201000700PeriodLineTotals.js';
import { Migration20261201000800UsageEventPartitions } from './Migration20261201000800UsageEventPartitions.js';
import { Migration20261201001000WebhookEvents } from './Migration20261201001000WebhookEvents.js';
import { Migration20261201002000Payments } from './Migration20261201002000Payments.js';
import { Migration20261201003000InvoiceDocuments } from './Migration20261201003000InvoiceDocuments.js';
import { Migration20261201004000PaymentMethods } from './Migration20261201004000PaymentMethods.js';
import { Migration20261201005000WalletAutoRecharge } from './Migration20261201005000WalletAutoRecharge.js';
import { Migration20261201007000SubscriptionBillingDay } from './Migration20261201007000SubscriptionBillingDay.js';
import { Migration20261201009000CostBooks } from './Migration20261201009000CostBooks.js';
import { Migration20261201010000CustomerTokenScopes } from './Migration20261201010000CustomerTokenScopes.js';
import { Migration20261201011000RecurringMeters } from './Migration20261201011000RecurringMeters.js';
import { Migration20261201012000MeterLevelByKey } from './Migration20261201012000MeterLevelByKey.js';
import { Migration20261201013000TestClocks } from './Migration20261201013000TestClocks.js';

/**
 * Every migration, in order. Listed explicitly (rather than discovered from the folder) so the
 * same list runs from compiled JavaScript, from the test runner and from the CLI.
 */
export const migrations: MigrationObject[] = [
  { name: 'Migration20261122000100Foundation', class: Migration20261122000100Foundation },
  { name: 'Migration20261122000200RuleSets', class: Migration20261122000200RuleSets },
  { name: 'Migration20261122000300Usage', class: Migration20261122000300Usage },
  { name: 'Migration20261122000400UsageCommit', class: Migration20261122000400UsageCommit },
  { name: 'Migration20261122000500Alerts', class: Migration20261122000500Alerts },
  { name: 'Migration20261122000600Invoicing', class: Migration20261122000600Invoicing },
  { name: 'Migration20261122000700UsageRollups', class: Migration20261122000700UsageRollups },
  { name: 'Migration20261122000800CustomerTokens', class: Migration20261122000800CustomerTokens },
  { name: 'Migration20261201000100ReservationFacts', class: Migration20261201000100ReservationFacts },
  { name: 'Migration20261201000200InvoiceLineAdjustments', class: Migration20261201000200InvoiceLineAdjustments },
  { name: 'Migration20261201000300MeterProperty', class: Migration20261201000300MeterProperty },
  { name: 'Migration20261201000400SpendingCapGuard', class: Migration20261201000400SpendingCapGuard },
  { name: 'Migration20261201000600CommitPath', class: Migration20261201000600CommitPath },
  { name: 'Migration20261201000700PeriodLineTotals', class: Migration20261201000700PeriodLineTotals },
  { name: 'Migration20261201000800UsageEventPartitions', class: Migration20261201000800UsageEventPartitions },
  { name: 'Migration20261201001000WebhookEvents', class: Migration20261201001000WebhookEvents },
  { name: 'Migration20261201002000Payments', class: Migration20261201002000Payments },
  { name: 'Migration20261201003000InvoiceDocuments', class: Migration20261201003000InvoiceDocuments },
  { name: 'Migration20261201004000PaymentMethods', class: Migration20261201004000PaymentMethods },
  { name: 'Migration20261201005000WalletAutoRecharge', class: Migration20261201005000WalletAutoRecharge },
  { name: 'Migration20261201007000SubscriptionBillingDay', class: Migration20261201007000SubscriptionBillingDay },
  { name: 'Migration20261201009000CostBooks', class: Migration20261201009000CostBooks },
  { name: 'Migration20261201010000CustomerTokenScopes', class: Migration20261201010000CustomerTokenScopes },
  { name: 'Migration20261201011000RecurringMeters', class: Migration20261201011000RecurringMeters },
  { name: 'Migration20261201012000MeterLevelByKey', class: Migration20261201012000MeterLevelByKey },
  { name: 'Migration20261201013000TestClocks', class: Migration20261201013000TestClocks },
];
