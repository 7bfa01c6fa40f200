export {
  chooseInstance,
  chooseInstanceForAdapter,
  DEFAULT_ROUTING,
  type RouteCandidate,
  type RouteDecision,
  type RoutingOptions,
  type RoutingPolicy,
} from './choose-instance.ts';
export { chooseInstanceForSession } from './choose-session.ts';
export { prefixBlockHashes } from './prefix-hash.ts';
export { PrefixIndex } from './prefix-index.ts';
export { type Route, Router, type RouterOptions } from './router.ts';
export { type SequencePlace, SequencePins } from './sequence-pins.ts';
export { createSequencePins } from './create-sequence-pins.ts';
export { RedisSequencePins } from './redis-sequence-pins.ts';
export { MemorySequencePins, type SequencePinStore } from './sequence-pin-store.ts';
export { RedisSessionShare, type SessionShare } from './session-share.ts';
