import { Ajv, type JSONSchemaType } from 'ajv';
import { ApiError } from '../errors/index.ts';
import { newApiKey } from './api-key.ts';

/** Per-key limits; each one left out is no limit. */
export interface KeyLimits {
  /** Sustained requests per second (token bucket refill rate). */
  requestsPerSecond?: number;
  /** Requests allowed at once above the sustained rate. Default: requestsPerSecond rounded up (at least 1). */
  burst?: number;
  /** Prompt + completion tokens per minute (fixed minute windows of the Redis clock). */
  tokensPerMinute?: number;
  /** Prompt + completion tokens per UTC day. */
  tokensPerDay?: number;
  /** Requests of this key in flight at once, streams included until their last byte. */
  maxConcurrentRequests?: number;
}

/** A key as stored: never its secret, only the secret's hash. Times are epoch ms. */
export interface KeyRecord {
  readonly id: string;
  readonly name: string;
  readonly hash: string;
  readonly createdAt: number;
  readonly revokedAt: number | null;
  readonly limits: KeyLimits;
}

/** A new key for a create request: its record to store, and the whole key, shown to the caller once. */
export function newKeyRecord(request: KeyRequest, now: number): { record: KeyRecord; key: string } {
  const k = newApiKey();
  return {
    record: {
      id: k.id,
      name: request.name,
      hash: k.hash,
      createdAt: now,
      revokedAt: null,
      limits: request.limits ?? {},
    },
    key: k.key,
  };
}

/** What the admin API shows of a key: everything but the hash. */
export interface KeyView {
  id: string;
  name: string;
  /** How the key begins, to recognize it: `wg_<id>_`. */
  prefix: string;
  created_at: string;
  revoked_at: string | null;
  limits: KeyLimits;
}

export function keyView(r: KeyRecord): KeyView {
  return {
    id: r.id,
    name: r.name,
    prefix: `wg_${r.id}_`,
    created_at: new Date(r.createdAt).toISOString(),
    revoked_at: r.revokedAt === null ? null : new Date(r.revokedAt).toISOString(),
    limits: r.limits,
  };
}

/** The body of POST /admin/v1/keys. */
export interface KeyRequest {
  name: string;
  limits?: KeyLimits;
}

const count = (maximum: number) => ({ type: 'integer', minimum: 1, maximum, nullable: true }) as const;

const limitsSchema: JSONSchemaType<KeyLimits> = {
  type: 'object',
  additionalProperties: false,
  required: [],
  properties: {
    requestsPerSecond: { type: 'number', exclusiveMinimum: 0, maximum: 1_000_000, nullable: true },
    burst: count(1_000_000),
    tokensPerMinute: count(1e12),
    tokensPerDay: count(1e15),
    maxConcurrentRequests: count(100_000),
  },
};

const requestSchema: JSONSchemaType<KeyRequest> = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 128 },
    limits: { ...limitsSchema, nullable: true },
  },
};

const validate = new Ajv({ strict: false }).compile(requestSchema);

/** Checks a key request as the admin API receives it; throws api_key_spec_invalid naming the field. */
export function checkKeyRequest(value: unknown): KeyRequest {
  if (validate(value)) {
    const l = value.limits;
    if (l?.burst !== undefined && l.requestsPerSecond === undefined) {
      throw new ApiError('api_key_spec_invalid', "'limits.burst' needs 'limits.requestsPerSecond'", {
        param: 'limits.burst',
      });
    }
    return value;
  }
  const e = validate.errors?.[0];
  const at = e?.instancePath.slice(1).replaceAll('/', '.') ?? '';
  const child =
    e?.keyword === 'required'
      ? String(e.params.missingProperty)
      : e?.keyword === 'additionalProperties'
        ? String(e.params.additionalProperty)
        : null;
  const field = child === null ? at : at ? `${at}.${child}` : child;
  const problem =
    e?.keyword === 'required'
      ? 'is required'
      : e?.keyword === 'additionalProperties'
        ? 'is not a key field'
        : (e?.message ?? 'is invalid');
  const message = field ? `key field '${field}' ${problem}` : `the key request ${problem}`;
  throw new ApiError('api_key_spec_invalid', message, field ? { param: field } : {});
}

/** The burst a key's bucket holds. */
export function burstOf(l: KeyLimits): number {
  return l.burst ?? Math.max(1, Math.ceil(l.requestsPerSecond ?? 1));
}
