// The catalog, ApiError and the schema-error helper live in runtime/errors (the instance answers with
// them too); the gateway's public body formats and its onError are here.
export {
  ApiError,
  ERROR_CATALOG,
  ERROR_CODES,
  type ErrorCode,
  type ErrorSpec,
  schemaError,
} from '../../runtime/errors/index.ts';
export { kserveErrorBody, openAIErrorBody } from './api-error.ts';
export { apiErrorHandler, type ApiErrorHandlerOptions } from './on-error.ts';
