export { WebhookResolver } from './webhook.resolver.js';
export { WebhookService } from './webhook.service.js';
export { WebhookWorker } from './webhook.worker.js';
