export { createSharedRegistry, type SharedRegistryOptions } from './create.ts';
export { MemorySharedRegistry, type MemorySharedRegistryOptions } from './memory-registry.ts';
export {
  RedisSharedRegistry,
  RegistryUnavailableError,
  type RedisSharedRegistryOptions,
} from './redis-registry.ts';
export type {
  InstanceEntry,
  PublishedState,
  RegistryEvent,
  RegistryListener,
  SharedInstanceRegistry,
} from './types.ts';
