export {
  type LoadedModel,
  type LoadOptions,
  loadModel,
  ModelLoadError,
  readManifest,
  sessionOptions,
  verifyFile,
} from './load-model.ts';
export { checkManifest, eosTokenIds, type ModelManifest } from './manifest.ts';
export { type DeviceSessions, type LoraStackSessions } from './device-sessions.ts';
export { type KvDtype } from './graph/index.ts';
