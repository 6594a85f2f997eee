export { DASHBOARD_CSP, dashboardRoutes } from './dashboard.routes.js';
