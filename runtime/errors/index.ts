export { ApiError } from './api-error.ts';
export { ERROR_CATALOG, ERROR_CODES, type ErrorCode, type ErrorSpec } from './catalog.ts';
export { instanceErrorBody, type InstanceErrorBody } from './instance-body.ts';
export { answerError, catalogErrorHandler, type CatalogErrorHandlerOptions } from './on-error.ts';
export { schemaError } from './schema-error.ts';
