import { join } from 'node:path';
import ort from 'onnxruntime-node';
import type { LoadedModel } from '../../runtime/model/index.ts';

/**
 * Full-recompute generation through reference.onnx (plain causal attention, no cache): the independent
 * reference every engine output is compared against.
 */
export class Reference {
  readonly #session: ort.InferenceSession;
  readonly #vocab: number;

  private constructor(session: ort.InferenceSession, vocab: number) {
    this.#session = session;
    this.#vocab = vocab;
  }

  static async open(model: LoadedModel): Promise<Reference> {
    const file = model.manifest.files.reference;
    if (!file) throw new Error(`${model.dir} has no reference graph`);
    const session = await ort.InferenceSession.create(join(model.dir, file.path), { intraOpNumThreads: 1 });
    return new Reference(session, model.manifest.architecture.vocab_size);
  }

  /** Logits [tokens.length, vocab] for every position. */
  async logits(tokens: readonly number[]): Promise<Float32Array> {
    const ids = BigInt64Array.from(tokens, (t) => BigInt(t));
    const out = await this.#session.run({ input_ids: new ort.Tensor('int64', ids, [ids.length]) });
    return out.logits!.data as Float32Array;
  }

  /** Greedy continuation, recomputing the whole sequence for every token. */
  async greedy(prompt: readonly number[], maxTokens: number): Promise<number[]> {
    const tokens = [...prompt];
    const out: number[] = [];
    for (let i = 0; i < maxTokens; i++) {
      const logits = await this.logits(tokens);
      const row = (tokens.length - 1) * this.#vocab;
      let best = 0;
      for (let v = 1; v < this.#vocab; v++) if (logits[row + v]! > logits[row + best]!) best = v;
      tokens.push(best);
      out.push(best);
    }
    return out;
  }

  /**
   * Greedy continuation that never picks `eosTokenId` (what the engine does with ignoreEos), recomputing
   * the whole sequence for every token. Ties go to the lowest id, as in the engine's sampler.
   */
  async greedyIgnoringEos(
    prompt: readonly number[],
    maxTokens: number,
    eosTokenId: number,
  ): Promise<number[]> {
    const tokens = [...prompt];
    const out: number[] = [];
    for (let i = 0; i < maxTokens; i++) {
      const logits = await this.logits(tokens);
      const row = (tokens.length - 1) * this.#vocab;
      let best = -1;
      for (let v = 0; v < this.#vocab; v++) {
        if (v !== eosTokenId && (best < 0 || logits[row + v]! > logits[row + best]!)) best = v;
      }
      tokens.push(best);
      out.push(best);
    }
    return out;
  }

  release(): Promise<void> {
    return this.#session.release();
  }
}
