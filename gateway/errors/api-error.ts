import { ApiError, ERROR_CATALOG, type ErrorCode } from '../../runtime/errors/index.ts';

/** The body OpenAI's clients parse: { error: { message, type, param, code } }. */
export function openAIErrorBody(e: ApiError): {
  error: { message: string; type: string; param: string | null; code: ErrorCode };
} {
  return { error: { message: e.message, type: ERROR_CATALOG[e.code].type, param: e.param, code: e.code } };
}

/** The body of the Open Inference Protocol (KServe v2): { error: message }, with the code kept alongside. */
export function kserveErrorBody(e: ApiError): { error: string; code: ErrorCode } {
  return { error: e.message, code: e.code };
}
