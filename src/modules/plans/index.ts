export { BillingInterval, Plan, PlanCharge, PlanChargeSchema, PlanSchema } from './plan.entity.js';
export { PlanService, type PlanView } from './plan.service.js';
export { PlanResolver } from './plan.resolver.js';
