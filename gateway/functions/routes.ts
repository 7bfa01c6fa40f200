import { Hono } from 'hono';
import { stream } from 'hono/streaming';
import { ApiError } from '../errors/index.ts';
import { modelNotFound } from '../openai/routes.ts';
import type { GatewayContext } from '../dispatch/context.ts';
import { validated } from '../dispatch/forward.ts';
import { readJson } from '../http/read-body.ts';
import { sessionOf } from '../http/session-header.ts';
import { clientSignal } from '../http/client-signal.ts';
import { markStreaming, noteModel } from '../http/request-span.ts';
import type { RequestPolicy } from '../openai/input-limits.ts';
import { runPipeline } from '../pipelines/index.ts';
import { callFunction } from '../dispatch/function-call.ts';
import { versionPick } from '../dispatch/generation-target.ts';
import { splitModelName } from '../rollouts/index.ts';
import { writeNdjson } from './ndjson-stream.ts';

/**
 * Every deployment as an HTTP function: POST /v1/functions/{name}. The body is checked against the
 * deployment's input JSON Schema (compiled once, when the deployment was created) or the kind's default.
 * Generative functions answer { output, finish_reason, usage } or stream NDJSON when the body says
 * stream: true; tensor functions answer { outputs: { name: nested array } }; a pipeline answers what its
 * output names, streaming its output step when asked.
 */
export function functionRoutes(gw: GatewayContext, policy: RequestPolicy = {}): Hono {
  const app = new Hono();

  app.post('/:name', async (c) => {
    // `chat@2` pins version 2, as a model name does on the OpenAI routes.
    const { name, version: pinned } = splitModelName(c.req.param('name'));
    const d = gw.deployments.get(name);
    if (!d) throw modelNotFound(name);
    if (pinned !== undefined && d.kind === 'pipeline')
      throw new ApiError('version_not_found', `'${name}' is a pipeline and has no versions: call '${name}'`, {
        param: 'model',
      });
    const operation =
      d.kind === 'tensor' ? 'tensor_inference' : d.kind === 'pipeline' ? 'pipeline' : 'text_completion';
    noteModel(c, name, operation);
    const body = await readJson(c);
    // One client, one version: in a pipeline's steps too (each step's deployment may run a canary).
    const pick = versionPick(gw.registry, (h) => c.req.header(h));
    let answer;
    if (d.kind === 'pipeline') {
      // A pipeline's own schema, if any; each step's body is checked against its deployment's.
      validated(gw.tracer, () => {
        const r = gw.deployments.validateInput(name, body);
        if (!r.ok) throw r.error;
        if (typeof body !== 'object' || body === null || Array.isArray(body))
          throw new ApiError('invalid_request', 'the body must be a JSON object');
      });
      const request = body as Record<string, unknown>;
      answer = await runPipeline(gw, policy, d, request, clientSignal(c), pick, sessionOf(c));
    } else {
      answer = await callFunction(gw, policy, d, body, clientSignal(c), pick, sessionOf(c), pinned);
      if (answer.version !== undefined) c.header('x-warmgate-version', String(answer.version));
    }
    if (!answer.stream) return c.json(answer.body);
    c.header('Content-Type', 'application/x-ndjson');
    markStreaming(c);
    const events = answer.events;
    return stream(c, (s) => writeNdjson(events, (line) => s.write(line)));
  });

  return app;
}
