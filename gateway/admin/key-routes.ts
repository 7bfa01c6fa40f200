import { type Context, Hono } from 'hono';
import { checkKeyRequest, keyView, type KeyStore } from '../auth/index.ts';
import { ApiError } from '../errors/index.ts';
import { readJson } from '../http/read-body.ts';

/**
 * API keys on the admin API: POST /keys creates one and answers its secret, the only time it is shown;
 * GET /keys and GET /keys/{id} show keys without secrets or hashes; DELETE /keys/{id} revokes one (kept,
 * marked revoked, refused from then on by every replica).
 */
export function keyRoutes(keys: KeyStore): Hono {
  const app = new Hono();

  app.post('/', async (c) => {
    const request = checkKeyRequest(await readJson(c));
    const { record, key } = await unavailableAs503(() => keys.create(request));
    const path = `${c.req.path.replace(/\/+$/, '')}/${record.id}`;
    return c.json({ ...keyView(record), key }, 201, { Location: path });
  });

  app.get('/', async (c) => {
    const all = await unavailableAs503(() => keys.list());
    return c.json({ keys: all.map(keyView) });
  });

  app.get('/:id', async (c) => {
    const r = await unavailableAs503(() => keys.get(c.req.param('id')));
    if (r === undefined) throw notFound(c.req.param('id'));
    return c.json(keyView(r));
  });

  app.delete('/:id', async (c) => {
    const r = await unavailableAs503(() => keys.revoke(c.req.param('id')));
    if (r === undefined) throw notFound(c.req.param('id'));
    return c.json(keyView(r));
  });

  app.all('/', methodNotAllowed('GET, POST'));
  app.all('/:id', methodNotAllowed('GET, DELETE'));
  return app;
}

function notFound(id: string): ApiError {
  return new ApiError('api_key_not_found', `no API key with id '${id}'`);
}

/** A store that cannot be reached answers 503, as the deployments' does. */
async function unavailableAs503<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (e instanceof ApiError) throw e;
    throw new ApiError('admin_store_unavailable', `the key store is unavailable: ${(e as Error).message}`);
  }
}

function methodNotAllowed(allow: string) {
  return (c: Context): never => {
    c.header('Allow', allow);
    throw new ApiError('method_not_allowed', `${c.req.method} ${c.req.path} is not allowed; use ${allow}`);
  };
}
