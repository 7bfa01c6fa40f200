/**
 * An LLM request's service time from its tokens: prefill is paid per prompt token, decode per output
 * token, plus a fixed overhead per request. Linear on purpose: a stated model that a reader can check,
 * for traces that give tokens and no durations (README.md, "Service times from tokens").
 */
export interface TokenServiceModel {
  readonly prefillMsPerToken: number;
  /** Per output token of one sequence, while the instance decodes its other sequences alongside. */
  readonly decodeMsPerToken: number;
  readonly overheadMs: number;
}

/**
 * One instance, one 24 GB GPU (A10/A10G class: 600 GB/s, 125 FP16 tensor TFLOPS), a 7B model in
 * FP16 and ~8 sequences at once: the derivation is in README.md.
 */
export const DEFAULT_TOKEN_MODEL: TokenServiceModel = Object.freeze({
  prefillMsPerToken: 0.2,
  decodeMsPerToken: 30,
  overheadMs: 0,
});

export function tokenServiceMs(m: TokenServiceModel, inputTokens: number, outputTokens: number): number {
  return m.overheadMs + m.prefillMsPerToken * inputTokens + m.decodeMsPerToken * outputTokens;
}

/** The model in words, for the report. */
export function describeTokenModel(m: TokenServiceModel): string {
  const overhead = m.overheadMs > 0 ? ` + ${m.overheadMs} ms` : '';
  return `${m.prefillMsPerToken} ms × input + ${m.decodeMsPerToken} ms × output tokens${overhead}`;
}
