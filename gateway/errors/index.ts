export { ApiError, kserveErrorBody, openAIErrorBody } from './api-error.ts';
export { ERROR_CATALOG, ERROR_CODES, type ErrorCode, type ErrorSpec } from './catalog.ts';
export { apiErrorHandler, type ApiErrorHandlerOptions } from './on-error.ts';
export { schemaError } from './schema-error.ts';
