/**
 * A generative step's prompt: a template (`{{ $.path }}` filled from the request or earlier steps), or
 * one chosen from `cases` by a value: a string or integer keys it; an array of numbers (a classifier's
 * probabilities) picks the index of its largest.
 */
export type PipelinePrompt =
  string | { by: string; cases: Record<string, string> | string[]; default?: string };

/** One step: a call to another deployment, its function body mapped from the request and earlier steps. */
export interface PipelineStep {
  deployment: string;
  /**
   * The step's function body by field (a tensor step's: its input tensors); each value a reference
   * (`$.request.x`, `$.steps.<id>.outputs.y`) or a literal (a string starting `$$` stands for one `$`).
   */
  inputs?: Record<string, unknown>;
  /** Generative steps: the body's prompt. */
  prompt?: PipelinePrompt;
}

/** What a pipeline deployment adds to a spec (spec.ts's DeploymentSpec holds both fields). */
export interface PipelineFields {
  readonly steps?: Readonly<Record<string, PipelineStep>>;
  readonly output?: string;
}
