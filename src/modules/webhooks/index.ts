export { WebhookService } from './webhook.service.js';
export { WebhookWorker } from './webhook-worker.js';
export { WebhookResolver } from './webhook.resolver.js';
export { signPayload, verifySignature, SIGNATURE_HEADER } from './webhook-signature.js';
export { WebhookTopic, WebhookDeliveryStatus } from './webhook.record.js';
