import type { ErrorHandler } from 'hono';
import { catalogErrorHandler, type CatalogErrorHandlerOptions } from '../../runtime/errors/index.ts';
import { kserveErrorBody, openAIErrorBody } from './api-error.ts';

export type ApiErrorHandlerOptions = CatalogErrorHandlerOptions;

/**
 * A Hono `onError` that answers every error in the route family's format (runtime/errors/on-error.ts):
 * an ApiError with its catalog status, bad JSON as invalid_json, anything else as a logged 500.
 */
export function apiErrorHandler(
  format: 'openai' | 'kserve',
  options: ApiErrorHandlerOptions = {},
): ErrorHandler {
  return catalogErrorHandler(format === 'openai' ? openAIErrorBody : kserveErrorBody, options);
}
