export { adminRoutes, type AdminOptions } from './routes.ts';
