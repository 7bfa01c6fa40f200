import { Hono } from 'hono';
import { ApiError, schemaError } from '../../errors/index.ts';
import type { RuntimeInstance } from '../instance.ts';
import { ajv } from './ajv.ts';
import { ADAPTER_SCHEMA } from './generate-body.ts';
import { readJson } from './read-json.ts';

const validateLoad = ajv.compile<{ id: string; path: string }>(ADAPTER_SCHEMA);

/**
 * GET /adapters: the adapters requests asked for and the slots they take turns in. POST /adapters
 * { id, path }: loads one ahead of its requests (the controller preloads the ones it expects), answered
 * once it is loaded, with the same refusals as a request naming it.
 */
export function adapterRoutes(inst: RuntimeInstance): Hono {
  return new Hono()
    .get('/adapters', (c) =>
      c.json({ adapters: inst.adapters.ids(), memory: inst.engine?.adapterStats() ?? null }),
    )
    .post('/adapters', async (c) => {
      if (inst.state !== 'ready') throw new ApiError('engine_draining', `the instance is ${inst.state}`);
      const body = await readJson(c);
      if (body === undefined) throw new ApiError('invalid_json', 'send a JSON object { id, path }');
      if (!validateLoad(body)) throw schemaError(validateLoad.errors);
      const started = performance.now();
      await inst.adapters.ensure(body.id, body.path);
      return c.json({ id: body.id, loaded: true, ms: performance.now() - started });
    });
}
