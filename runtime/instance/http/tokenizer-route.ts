import { Hono } from 'hono';
import { ApiError } from '../../errors/index.ts';
import type { RuntimeInstance } from '../instance.ts';

/**
 * GET /tokenizer: the served model's Hugging Face text files (TokenizerFilesBody, runtime/instance/
 * protocol.ts), so that the gateway counts tokens and renders chats as this model does without loading
 * it. The ETag is the id GET /metadata gives. A byte-level or tensor model has no files: 404
 * tokenizer_not_found; a model still loading: 503 engine_draining, as GET /metadata answers.
 */
export function tokenizerRoute(inst: RuntimeInstance): Hono {
  return new Hono().get('/tokenizer', (c) => {
    if (inst.state === 'loading') throw new ApiError('engine_draining', 'still loading');
    const served = inst.servedTokenizer;
    if (served === null || served.tokenizer.type !== 'huggingface' || served.filesBody === null) {
      throw new ApiError(
        'tokenizer_not_found',
        `this instance serves ${inst.kind === 'tensor' ? 'a tensor model' : 'a byte-level model'}, which has no tokenizer files: GET /metadata says which tokenizer an instance serves`,
      );
    }
    return c.body(served.filesBody, 200, {
      'content-type': 'application/json',
      etag: `"${served.tokenizer.id}"`,
    });
  });
}
