export { type AdminOperations, adminRoutes, type AdminOptions } from './routes.ts';
