// A tokenizer worker thread (started by TokenizerThread): builds one model's tokenizer and chat template
// from GET /tokenizer's body, then encodes texts and renders chats for the gateway, so that neither the
// build (seconds for a 128k-token vocabulary) nor BPE on a long prompt runs on the gateway's event loop.
// It imports runtime/engine/api.ts only: no ONNX Runtime here either.
import { parentPort, workerData } from 'node:worker_threads';
import { ChatTemplateError, type ModelText, modelTextFrom, renderChat } from '../../runtime/engine/api.ts';
import { parseFilesBody } from './files-body.ts';
import type { FromWorker, ToWorker, WorkerStart } from './worker-messages.ts';

const port = parentPort!;
const say = (m: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

function build(): ModelText | null {
  const t0 = performance.now();
  try {
    const text = modelTextFrom(parseFilesBody((workerData as WorkerStart).filesBody));
    say({ type: 'built', buildMs: performance.now() - t0 });
    return text;
  } catch (e) {
    say({ type: 'unbuildable', message: (e as Error).message });
    return null;
  }
}

function answer(text: ModelText, m: ToWorker): void {
  try {
    if (m.op === 'encode') {
      const ids = Uint32Array.from(text.tokenizer.encode(m.text, { addSpecialTokens: m.addSpecialTokens }));
      say({ type: 'ids', seq: m.seq, ids }, [ids.buffer]);
      return;
    }
    const rendered = renderChat(text.chatTemplate, m.messages, { addGenerationPrompt: true });
    const ids = Uint32Array.from(text.tokenizer.encode(rendered, { addSpecialTokens: false }));
    say({ type: 'chat', seq: m.seq, text: rendered, ids }, [ids.buffer]);
  } catch (e) {
    if (e instanceof ChatTemplateError)
      say({ type: 'refused', seq: m.seq, code: e.code, message: e.message });
    else say({ type: 'failed', seq: m.seq, message: (e as Error).message });
  }
}

const text = build();
// Unbuildable: nothing listens, so the thread ends (its TokenizerThread has said why).
if (text !== null) port.on('message', (m: ToWorker) => answer(text, m));
