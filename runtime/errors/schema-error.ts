import type { ErrorObject } from 'ajv';
import { ApiError } from './api-error.ts';
import type { ErrorCode } from './catalog.ts';

/**
 * The first JSON Schema violation as an ApiError (invalid_request unless the route family has a more
 * specific code), naming the field by its dotted path.
 */
export function schemaError(
  errors: ErrorObject[] | null | undefined,
  code: ErrorCode = 'invalid_request',
): ApiError {
  const e = errors?.[0];
  if (!e) return new ApiError(code, 'the request body is invalid');
  const at = e.instancePath.slice(1).replaceAll('/', '.');
  const child =
    e.keyword === 'required'
      ? String(e.params.missingProperty)
      : e.keyword === 'additionalProperties'
        ? String(e.params.additionalProperty)
        : null;
  const field = child === null ? at : at ? `${at}.${child}` : child;
  const message =
    e.keyword === 'required'
      ? `'${field}' is required`
      : e.keyword === 'additionalProperties'
        ? `'${field}' is not a supported field`
        : field
          ? `'${field}' ${e.message}`
          : `the request body ${e.message}`;
  return new ApiError(code, message, { param: field || undefined });
}
