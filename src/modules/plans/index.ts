export type { BillingInterval } from './plan.entity.js';
export { PlanObject, toPlanObject } from './plan.object.js';
export { PlanResolver } from './plan.resolver.js';
export { PlanService, type PlanView } from './plan.service.js';
