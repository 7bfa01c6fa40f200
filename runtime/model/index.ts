export { checkManifest, type ModelManifest } from './manifest.ts';
export { type LoadedModel, type LoadOptions, loadModel, ModelLoadError, readManifest, sessionOptions, verifyFile } from './load-model.ts';
