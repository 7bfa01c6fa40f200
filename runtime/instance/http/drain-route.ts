import { Hono } from 'hono';
import type { RuntimeInstance } from '../instance.ts';

/** POST /drain: stop admitting and let in-flight work finish; answers at once with the new state. */
export function drainRoute(inst: RuntimeInstance): Hono {
  return new Hono().post('/drain', (c) => {
    void inst.drain();
    return c.json({ state: inst.state }, 202);
  });
}
