export { AlertObject, toAlertObject, toWalletAutoRechargeObject, WalletAutoRechargeObject } from './alert.object.js';
export { RechargeFailurePolicy, type AlertRecord } from './alert.record.js';
export { autoRechargeOf, evaluateAlerts, recordRechargeFailure, type AlertDefinition } from './alert.repository.js';
export { AlertResolver } from './alert.resolver.js';
export { AlertService } from './alert.service.js';
