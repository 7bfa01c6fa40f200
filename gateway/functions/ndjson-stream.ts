import type { GenerationEvent } from '../../runtime/engine/api.ts';
import { ApiError } from '../errors/index.ts';
import { finishReason, usage } from '../openai/responses.ts';

/**
 * A generative function's events as NDJSON lines: `{ index, text }` per token, `{ index, text,
 * finish_reason }` per finished choice, then `{ done, usage }`; an error ends the stream with `{ error }`.
 */
export async function writeNdjson(
  events: AsyncGenerator<GenerationEvent>,
  write: (line: string) => Promise<unknown>,
): Promise<void> {
  let promptTokens = 0;
  let completionTokens = 0;
  try {
    for await (const ev of events) {
      if (ev.type === 'error') {
        await write(`${JSON.stringify({ error: { code: ev.code, message: ev.message } })}\n`);
        return;
      }
      if (ev.type === 'token') {
        if (ev.text) await write(`${JSON.stringify({ index: ev.index, text: ev.text })}\n`);
        continue;
      }
      promptTokens = ev.promptTokens;
      completionTokens += ev.completionTokens;
      await write(
        `${JSON.stringify({ index: ev.index, text: ev.text, finish_reason: finishReason(ev.reason) })}\n`,
      );
    }
  } catch (e) {
    // The instance went away mid-stream: say so in the stream rather than end it as if complete.
    if (!(e instanceof ApiError)) throw e;
    await write(`${JSON.stringify({ error: { code: e.code, message: e.message } })}\n`);
    return;
  }
  await write(`${JSON.stringify({ done: true, usage: usage(promptTokens, completionTokens) })}\n`);
}
