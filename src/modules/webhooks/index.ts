export { WEBHOOK_CATALOGUE, webhookBodySchema, webhookSchemaFiles, type WebhookCatalogueEntry } from './webhook-catalogue.pure.js';
export {
  webhookEventId,
  WebhookTopic,
  type AlertEventAlert,
  type InvoiceEventInvoice,
  type PaymentEventPayment,
  type SubscriptionEventSubscription,
  type WalletEventWallet,
  type WebhookEmission,
  type WebhookEventData,
} from './webhook.record.js';
export { emitWebhook } from './webhook.repository.js';
export { WebhookResolver } from './webhook.resolver.js';
export { WebhookService } from './webhook.service.js';
export { WebhookWorker } from './webhook.worker.js';
