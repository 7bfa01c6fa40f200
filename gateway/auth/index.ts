export { apiKeyId, hashApiKey, newApiKey } from './api-key.ts';
export { createGatewayAuth, type GatewayAuth, type GatewayAuthOptions } from './gateway-auth.ts';
export {
  checkKeyRequest,
  keyView,
  type KeyLimits,
  type KeyRecord,
  type KeyRequest,
  type KeyView,
} from './key-record.ts';
export type { KeyCheck, KeyStore } from './key-store.ts';
export { type KeyUsage, KeyUsageTally } from './key-usage.ts';
export type { Admission, LimitCode, Limiter, LimitUsage } from './limiter.ts';
export { MemoryKeyStore, type MemoryKeyStoreOptions } from './memory-key-store.ts';
export { MemoryLimiter } from './memory-limiter.ts';
export { type AuthBackend, type AuthBackendOptions, openAuthBackend } from './open-auth.ts';
export type { RedisKeyStoreOptions } from './redis-key-store.ts';
export { RedisLimiter, type RedisLimiterOptions } from './redis-limiter.ts';
