/**
 * npm start [-- "prompt" ...]
 *
 * Loads the demo model into one engine and streams several completions at once, so continuous
 * batching is visible: the prompts share steps, each streams as its tokens arrive.
 */
import { DEFAULT_SAMPLING_PARAMS, Engine } from './engine/index.ts';
import { ByteTokenizer } from './engine/text/byte-tokenizer.ts';
import { loadModel } from './model/index.ts';

const prompts = process.argv.slice(2).length
  ? process.argv.slice(2)
  : ['ROMEO:\n', 'JULIET:\n', 'First Citizen:\n'];
const model = await loadModel(process.env.WARMGATE_MODEL ?? 'runtime/models/demo');
const engine = new Engine(model, { kvCacheBytes: 64 * 2 ** 20 });
const tokenizer = new ByteTokenizer();
console.log(
  `loaded ${model.manifest.name} (${model.manifest.architecture.n_layer} layers, context ${model.manifest.architecture.context_length})\n`,
);

const started = performance.now();
const outputs = await Promise.all(
  prompts.map(async (prompt, i) => {
    const r = engine.submit({
      prompt: tokenizer.encode(prompt),
      params: { ...DEFAULT_SAMPLING_PARAMS, temperature: 0.8, topP: 0.95, seed: i, maxTokens: 200 },
    });
    if (!r.ok) return `refused: ${r.error.code}: ${r.error.message}`;
    let text = prompt;
    for await (const ev of r.events) {
      if (ev.type === 'error') return `failed: ${ev.message}`;
      text += ev.text;
      if (ev.type === 'finish') text += `\n[finish: ${ev.reason}, ${ev.completionTokens} tokens]`;
    }
    return text;
  }),
);
for (const text of outputs) console.log(`${text}\n${'-'.repeat(60)}`);
const s = engine.stats();
const secs = (performance.now() - started) / 1000;
console.log(
  `${s.tokensSampled} tokens in ${secs.toFixed(2)} s over ${s.steps} batched steps (${(s.tokensSampled / secs).toFixed(0)} tokens/s)`,
);
await model.release();
