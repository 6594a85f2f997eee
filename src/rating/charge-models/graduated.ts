export { graduatedRange, graduatedTotal } from './tiers.js';
