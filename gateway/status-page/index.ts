export { gatherStatus, type StatusSources, type StatusSummary, statusQuery } from './status-data.ts';
export { type StatusPageOptions, statusRoutes, TOKEN_COOKIE } from './status-routes.ts';
