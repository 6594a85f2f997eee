export { AlertObject, toAlertObject } from './alert.object.js';
export type { AlertRecord } from './alert.record.js';
export { evaluateAlerts } from './alert.repository.js';
export { AlertResolver } from './alert.resolver.js';
export { AlertService } from './alert.service.js';
