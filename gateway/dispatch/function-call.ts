import type { GenerationEvent } from '../../runtime/engine/api.ts';
import { ApiError } from '../errors/index.ts';
import { ajv, generationRequest, schemaError } from '../openai/sampling-request.ts';
import { ChoiceAccumulator } from '../openai/choice-accumulator.ts';
import { finishReason, usage } from '../openai/responses.ts';
import { DEFAULT_STICKY_HEADER, type DeploymentSpec } from '../deployments/index.ts';
import type { GatewayContext } from './context.ts';
import { validated } from './forward.ts';
import { startGenerationSession } from './generation.ts';
import { generationTarget, type VersionPick } from './generation-target.ts';
import { chooseVersion } from '../rollouts/index.ts';
import type { ClientSignal } from '../http/client-signal.ts';
import { noteContent } from '../http/request-span.ts';
import { narrowed, type RequestPolicy } from '../openai/input-limits.ts';
import { completionPrompt } from '../openai/model-prompt.ts';
import type { DeploymentText } from '../model-text/index.ts';
import { callTensorModel } from './tensor-call.ts';
import { sequenceParams } from '../kserve/sequence-params.ts';
import {
  checkFunctionInputs,
  DEFAULT_GENERATIVE_SCHEMA,
  DEFAULT_TENSOR_SCHEMA,
  generativeCall,
  nest,
  tensorInputs,
} from '../functions/function-body.ts';

const defaultGenerative = ajv.compile(DEFAULT_GENERATIVE_SCHEMA);
const defaultTensor = ajv.compile(DEFAULT_TENSOR_SCHEMA);

/** A function's answer: a JSON body, or (a generative function asked to stream) its events. */
export type FunctionAnswer = (
  | { readonly stream: false; readonly body: Record<string, unknown> }
  | { readonly stream: true; readonly events: AsyncGenerator<GenerationEvent> }
) & {
  /** The version that answered (x-warmgate-version); absent for an adapter. */
  readonly version?: number;
};

/**
 * One call of a generative, tensor or adapter deployment as a function, with a body as POST
 * /v1/functions/{name} takes it (`d`: the deployment called, as the registry holds it): checked against the deployment's input schema (or the kind's default),
 * then dispatched (admission, routing, history) as the function route does. Pipelines call their steps
 * through here too.
 */
export async function callFunction(
  gw: GatewayContext,
  policy: RequestPolicy,
  d: DeploymentSpec,
  body: unknown,
  signal: ClientSignal,
  /** How the request picks among the deployment's versions (its client and the pools' readiness). */
  pick: VersionPick,
  /** The conversation a generation continues (header x-warmgate-session), kept on one instance. */
  conversation?: string,
  /** The version the call names (`/v1/functions/chat@2`), whatever the split. */
  pinned?: number,
): Promise<FunctionAnswer> {
  const limits = policy.limits ?? {};
  const name = d.name;
  if (d.kind === 'pipeline') throw new Error(`callFunction: '${name}' is a pipeline (runPipeline runs it)`);
  if (pinned !== undefined && d.kind === 'adapter')
    throw new ApiError('version_not_found', `'${name}' is an adapter and has no versions: call '${name}'`, {
      param: 'model',
    });
  validated(gw.tracer, () => {
    if (d.inputSchema) {
      const r = gw.deployments.validateInput(name, body);
      if (!r.ok) throw r.error;
    } else {
      const validate = d.kind === 'tensor' ? defaultTensor : defaultGenerative;
      if (!validate(body)) throw schemaError(validate.errors);
    }
  });
  const fields = body as Record<string, unknown>;
  if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) {
    throw new ApiError('invalid_request', 'the body must be a JSON object');
  }

  if (d.kind === 'tensor') {
    if (typeof fields.inputs !== 'object' || fields.inputs === null || Array.isArray(fields.inputs)) {
      throw new ApiError('invalid_tensor', "'inputs' must map input names to nested arrays", {
        param: 'inputs',
      });
    }
    const given = tensorInputs(fields.inputs as Record<string, unknown>);
    // A stateful model's sequence fields (sequence_id, sequence_start, sequence_end) beside `inputs`.
    const sequence = sequenceParams(fields, '');
    // Sticky as a generation is (one client, one version); an anonymous sequence sticks by its id, so
    // every step of it finds the version, and so the instance, that holds its state.
    const client =
      pick.client(d.rollout?.stickyHeader ?? DEFAULT_STICKY_HEADER) ??
      (sequence === null ? null : `q:${String(sequence.id)}`);
    const chosen = chooseVersion(d, pinned, client, pick.ready);
    const result = await callTensorModel(
      gw,
      name,
      (m) => checkFunctionInputs(given, m),
      signal,
      sequence,
      chosen,
    );
    return {
      stream: false,
      body: { outputs: Object.fromEntries(result.outputs.map((o) => [o.name, nest(o.data, o.shape)])) },
      version: chosen.version,
    };
  }

  const found = generationTarget(gw.deployments, pinned === undefined ? name : `${name}@${pinned}`, pick)!;
  const version = found.version === null ? {} : { version: found.version };
  const target = conversation === undefined ? found : { ...found, session: conversation };
  const { prompt, fields: sampling } = generativeCall(fields, d.promptTemplate);
  // As a completion's: made now when the model's text is known, else by the session once it is.
  const text = gw.texts.peek(target.pool);
  const making = text
    ? completionPrompt(text, prompt, limits)
    : (t: DeploymentText) => completionPrompt(t, prompt, limits);
  // A Hugging Face model's prompt comes from its tokenizer worker; a byte model's is made already.
  const made = making instanceof Promise ? await making : making;
  noteContent(policy.recordContent, { 'gen_ai.prompt': prompt });
  const session = await startGenerationSession(
    gw,
    gw.gate(name, target.pool),
    target,
    made,
    (m, p) =>
      generationRequest({ ...sampling, model: name }, p, narrowed(m, limits), {
        logprobs: 0,
        defaultMaxTokens: 64,
      }),
    signal,
  );
  if (session.whole === null) return { stream: true, events: session.events, ...version };
  const n = session.request.params.n;
  const acc = new ChoiceAccumulator(n);
  for (const ev of session.whole) {
    if (ev.type === 'error') throw new ApiError('engine_step_failed', ev.message);
    acc.add(ev);
  }
  const u = usage(acc.promptTokens, acc.completionTokens);
  noteContent(policy.recordContent, { 'gen_ai.completion': acc.choices.map((ch) => ch.text).join('\n') });
  const outs = acc.choices.map((ch) => ({
    output: ch.text,
    finish_reason: finishReason(ch.finishReason),
  }));
  return {
    stream: false,
    body: n === 1 ? { ...outs[0], usage: u } : { outputs: outs, usage: u },
    ...version,
  };
}
