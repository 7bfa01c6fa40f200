import {
  type DeploymentSpec,
  fillTemplate,
  isRef,
  literal,
  parseRef,
  type PipelineRef,
  type PipelineStep,
  readPath,
} from '../deployments/index.ts';
import { ApiError } from '../errors/index.ts';

/** What a pipeline call has so far: its request, and the answers of the steps that have answered. */
export interface PipelineState {
  readonly request: Readonly<Record<string, unknown>>;
  readonly answers: ReadonlyMap<string, unknown>;
}

/**
 * The value a reference reads. A missing request field is the caller's to fix (invalid_request); a
 * step's answer without what the pipeline reads is the pipeline's (pipeline_value_missing).
 */
export function resolveRef(state: PipelineState, text: string): unknown {
  const ref = parseRef(text) as PipelineRef; // parsed at deploy time already
  const fromRequest = 'request' in ref.from;
  const root = 'step' in ref.from ? state.answers.get(ref.from.step) : state.request;
  const v = readPath(root, ref.path);
  if (v !== undefined) return v;
  if (fromRequest)
    throw new ApiError('invalid_request', `the pipeline reads '${text}', which the request lacks`, {
      param: ref.path.join('.'),
    });
  throw new ApiError(
    'pipeline_value_missing',
    `the pipeline reads '${text}', which step '${(ref.from as { step: string }).step}' did not answer`,
  );
}

/**
 * A step's function body, as POST /v1/functions/{deployment} takes it: its inputs (a tensor step's
 * under `inputs`), references read from the state, and a generative step's prompt. Pure.
 */
export function stepBody(
  step: PipelineStep,
  target: DeploymentSpec,
  state: PipelineState,
  stream: boolean,
): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const [field, v] of Object.entries(step.inputs ?? {}))
    fields[field] = isRef(v) ? resolveRef(state, v) : literal(v);
  if (target.kind === 'tensor') return { inputs: fields };
  if (step.prompt !== undefined) fields.prompt = stepPrompt(step, state);
  if (stream) fields.stream = true;
  return fields;
}

/** A generative step's prompt: its template, or the case its `by` value chooses, filled. */
function stepPrompt(step: PipelineStep, state: PipelineState): string {
  const p = step.prompt!;
  const fill = (t: string) => fillTemplate(t, (ref) => resolveRef(state, ref));
  if (typeof p === 'string') return fill(p);
  const by = resolveRef(state, p.by);
  const key = chooser(by);
  if (key === null)
    throw new ApiError(
      'pipeline_value_missing',
      `prompt.by '${p.by}' is ${JSON.stringify(by).slice(0, 80)}: it must be a string, an integer or an array of numbers`,
    );
  const chosen = Array.isArray(p.cases)
    ? typeof key === 'number'
      ? p.cases[key]
      : undefined
    : Object.hasOwn(p.cases, String(key))
      ? p.cases[String(key)]
      : undefined;
  const template = chosen ?? p.default;
  if (template === undefined)
    throw new ApiError(
      'pipeline_value_missing',
      `prompt.by '${p.by}' chose ${JSON.stringify(key)}, which no case names and there is no default`,
    );
  return fill(template);
}

/** A string or integer keys the cases as it is; an array of numbers by the index of its largest. */
function chooser(v: unknown): string | number | null {
  if (typeof v === 'string' || Number.isInteger(v)) return v as string | number;
  if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'number')) return null;
  let best = 0;
  for (let i = 1; i < v.length; i++) if ((v[i] as number) > (v[best] as number)) best = i;
  return best;
}
