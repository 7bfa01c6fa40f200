/** Why a URL artifact could not be made a local folder. `code` is stable; `message` names what and where. */
export interface ArtifactError {
  readonly code: 'artifact_unreachable' | 'artifact_mismatch' | 'artifact_corrupt' | 'artifact_too_large';
  readonly message: string;
}

export type ArtifactResult =
  | { readonly ok: true; readonly dir: string; readonly downloaded: boolean }
  | { readonly ok: false; readonly error: ArtifactError };

export const short = (sha: string) => `${sha.slice(0, 12)}…`;

/** An instance start refused for its artifact; carries the code for callers that branch on it. */
export class ArtifactStartError extends Error {
  readonly code: ArtifactError['code'];
  constructor(deployment: string, e: ArtifactError) {
    super(`deployment ${deployment}: ${e.code}: ${e.message}`);
    this.name = 'ArtifactStartError';
    this.code = e.code;
  }
}
