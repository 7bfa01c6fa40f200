import { type Context, Hono } from 'hono';
import { ApiError } from '../errors/index.ts';
import type { GatewayContext } from '../dispatch/context.ts';
import { validated } from '../dispatch/forward.ts';
import { versionPick } from '../dispatch/generation-target.ts';
import {
  DEFAULT_STICKY_HEADER,
  type DeploymentSpec,
  pinnedVersion,
  servingPools,
  servingPoolsOf,
  versionNumbers,
  versionPool,
} from '../deployments/index.ts';
import { chooseVersion } from '../rollouts/index.ts';
import { callTensorModel } from '../dispatch/tensor-call.ts';
import { readJson } from '../http/read-body.ts';
import { clientSignal } from '../http/client-signal.ts';
import { noteModel } from '../http/request-span.ts';
import { sequenceParams } from './sequence-params.ts';
import { checkInputs, checkRequestedOutputs } from './tensors.ts';

/** KServe v2 / Open Inference Protocol for tensor functions, mounted at /v2. */
export function kserveRoutes(gw: GatewayContext): Hono {
  const app = new Hono();

  const tensorDeployment = (c: Context, name: string) => {
    const d = gw.deployments.get(name);
    if (!d || d.kind !== 'tensor') {
      throw new ApiError('model_not_found', `tensor model '${name}' is not deployed`, { param: 'model' });
    }
    noteModel(c, name, 'tensor_inference');
    return d;
  };

  app.get('/health/live', (c) => c.json({ live: true }));
  const routable = (pools: readonly string[]) => pools.some((p) => gw.registry.routable(p).length > 0);
  app.get('/health/ready', (c) => {
    const waiting = gw.deployments
      .list()
      .filter((d) => d.scaling.minInstances > 0 && !routable(servingPoolsOf(d, (n) => gw.deployments.get(n))))
      .map((d) => d.name);
    return c.json(
      { ready: waiting.length === 0, ...(waiting.length ? { waiting } : {}) },
      waiting.length ? 503 : 200,
    );
  });

  // Unversioned, a model is what its split serves: ready when a version taking traffic is, described by
  // the first such version that has reported its metadata.
  const metadata = (d: DeploymentSpec, pools: readonly string[], versions: readonly number[]) => {
    const meta = pools.map((p) => gw.registry.metadata(p)).find((m) => m !== undefined);
    return {
      name: d.name,
      versions: versions.map(String),
      platform: 'onnxruntime_onnx',
      inputs: meta?.inputs ?? [],
      outputs: meta?.outputs ?? [],
    };
  };
  const ready = (c: Context, d: DeploymentSpec, pools: readonly string[]) => {
    const ok = routable(pools);
    return c.json({ name: d.name, ready: ok }, ok ? 200 : 503);
  };
  app.get('/models/:m', (c) => {
    const d = tensorDeployment(c, c.req.param('m'));
    return c.json(metadata(d, servingPools(d), versionNumbers(d)));
  });
  app.get('/models/:m/ready', (c) => {
    const d = tensorDeployment(c, c.req.param('m'));
    return ready(c, d, servingPools(d));
  });
  app.get('/models/:m/versions/:v', (c) => {
    const d = tensorDeployment(c, c.req.param('m'));
    const v = pinnedVersion(d, versionParam(c.req.param('v')));
    return c.json(metadata(d, [versionPool(d.name, v)], [v]));
  });
  app.get('/models/:m/versions/:v/ready', (c) => {
    const d = tensorDeployment(c, c.req.param('m'));
    const v = pinnedVersion(d, versionParam(c.req.param('v')));
    return ready(c, d, [versionPool(d.name, v)]);
  });

  // KServe's versioned path pins a version; the plain one takes the split (sticky as the OpenAI routes).
  const infer = async (c: Context, name: string, version: number | undefined) => {
    const d = tensorDeployment(c, name);
    const pick = versionPick(gw.registry, (h) => c.req.header(h));
    const chosen = chooseVersion(
      d,
      version,
      pick.client(d.rollout?.stickyHeader ?? DEFAULT_STICKY_HEADER),
      pick.ready,
    );
    const body = (await readJson(c)) as {
      id?: unknown;
      inputs?: unknown;
      outputs?: unknown;
      parameters?: unknown;
    } | null;
    if (!body || typeof body !== 'object' || Array.isArray(body)) {
      throw new ApiError('invalid_tensor', 'send { inputs: [{ name, shape, datatype, data }] }', {
        param: 'inputs',
      });
    }
    if (body.id !== undefined && typeof body.id !== 'string') {
      throw new ApiError('invalid_request', "'id' must be a string", { param: 'id' });
    }
    const wanted = parseRequestedOutputs(body.outputs);
    // Triton's sequence batcher parameters: sequence_id, sequence_start, sequence_end.
    if (
      body.parameters !== undefined &&
      (typeof body.parameters !== 'object' || body.parameters === null || Array.isArray(body.parameters))
    ) {
      throw new ApiError('invalid_request', "'parameters' must be an object", { param: 'parameters' });
    }
    const sequence = sequenceParams(body.parameters as Record<string, unknown> | undefined, 'parameters.');
    const result = await callTensorModel(
      gw,
      d.name,
      (m) => {
        checkRequestedOutputs(wanted, m.outputs ?? []);
        return validated(gw.tracer, () =>
          checkInputs(body.inputs, m.inputs ?? [], m.maxBatchSize ?? Number.MAX_SAFE_INTEGER),
        );
      },
      clientSignal(c),
      sequence,
      chosen,
    );
    const outputs = result.outputs.filter((o) => !wanted || wanted.includes(o.name));
    return c.json({
      model_name: d.name,
      model_version: String(chosen.version),
      ...(typeof body.id === 'string' ? { id: body.id } : {}),
      outputs,
    });
  };
  app.post('/models/:m/infer', (c) => infer(c, c.req.param('m'), undefined));
  app.post('/models/:m/versions/:v/infer', (c) => infer(c, c.req.param('m'), versionParam(c.req.param('v'))));

  return app;
}

/** A path's version: a number, as in /versions/2. */
function versionParam(v: string): number {
  if (!/^[1-9][0-9]{0,6}$/.test(v))
    throw new ApiError('version_not_found', `version '${v}': a version is a number, as in /versions/2`, {
      param: 'model',
    });
  return Number(v);
}

function parseRequestedOutputs(outputs: unknown): string[] | null {
  if (outputs === undefined) return null;
  if (!Array.isArray(outputs) || !outputs.every((o) => typeof (o as { name?: unknown })?.name === 'string')) {
    throw new ApiError('invalid_request', "'outputs' must be an array of { name }", { param: 'outputs' });
  }
  return outputs.map((o) => (o as { name: string }).name);
}
