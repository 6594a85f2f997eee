export type { RechargeRecord, RechargeStatus } from './recharge.record.js';
export { RechargeRepository } from './recharge.repository.js';
export { RechargeService } from './recharge.service.js';
export { RechargeWorker } from './recharge.worker.js';
