export {
  ArtifactCache,
  type ArtifactCacheOptions,
  defaultCacheDir,
  type UrlArtifact,
} from './artifact-cache.ts';
export { type ArtifactError, type ArtifactResult, ArtifactStartError } from './artifact-error.ts';
