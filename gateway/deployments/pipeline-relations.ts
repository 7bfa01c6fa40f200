import { ApiError } from '../errors/index.ts';
import { isRef, literal, parseRef, type PipelineRef } from './pipeline-path.ts';
import { stepRefs } from './pipeline-plan.ts';
import { outputRef } from './pipeline-spec.ts';
import type { DeploymentSpec } from './spec.ts';

/** What a reference is known to hold before anything runs; 'unknown' passes every check. */
type Shape = 'string' | 'number' | 'array' | 'object' | 'boolean' | 'unknown';

const invalid = (param: string, message: string): never => {
  throw new ApiError('deployment_invalid', message, { param });
};

/**
 * What a pipeline needs of the deployments it calls: each exists and is not a pipeline, and each step's
 * inputs fit its kind: a tensor step's are arrays of numbers, a generative step's prompt is a string,
 * references read what the step they name answers. Throws deployment_invalid naming the step's field.
 */
export function checkPipelineRelations(
  p: DeploymentSpec,
  get: (name: string) => DeploymentSpec | undefined,
): void {
  const steps = p.steps!;
  const kindOf = (id: string) => get(steps[id]!.deployment)!.kind;
  for (const [id, step] of Object.entries(steps)) {
    const d = get(step.deployment);
    const at = `steps.${id}.deployment`;
    if (d === undefined) invalid(at, `step '${id}': deployment '${step.deployment}' is not deployed`);
    if (d!.kind === 'pipeline')
      invalid(
        at,
        `step '${id}': '${step.deployment}' is a pipeline; a step calls a generative, tensor or adapter deployment`,
      );
  }
  const shapeOf = (ref: string): Shape => refShape(parseRef(ref) as PipelineRef, p, kindOf);
  for (const [id, step] of Object.entries(steps)) {
    for (const { at, ref } of stepRefs(step)) checkReadable(ref, p, kindOf, `steps.${id}.${at}`);
    const d = get(step.deployment)!;
    const inputs = Object.entries(step.inputs ?? {});
    const shape = (v: unknown): Shape => (isRef(v) ? shapeOf(v) : literalShape(literal(v)));
    if (d.kind === 'tensor') {
      if (step.prompt !== undefined)
        invalid(
          `steps.${id}.prompt`,
          `step '${id}' calls tensor deployment '${d.name}', which takes no prompt`,
        );
      if (inputs.length === 0)
        invalid(
          `steps.${id}.inputs`,
          `step '${id}' calls tensor deployment '${d.name}': give its input tensors`,
        );
      for (const [field, v] of inputs) {
        const s = shape(v);
        if (s !== 'array' && s !== 'unknown')
          invalid(
            `steps.${id}.inputs.${field}`,
            `step '${id}' input '${field}' feeds tensor deployment '${d.name}' ${article(s)}${isRef(v) ? ` (${v})` : ''}: a tensor input is a nested array of numbers`,
          );
      }
      continue;
    }
    const prompt = step.inputs?.prompt;
    if (d.promptTemplate !== undefined && step.prompt !== undefined)
      invalid(
        `steps.${id}.prompt`,
        `step '${id}': '${d.name}' builds its prompt from its promptTemplate; give the template's fields in inputs`,
      );
    if (prompt !== undefined && shape(prompt) !== 'string' && shape(prompt) !== 'unknown')
      invalid(
        `steps.${id}.inputs.prompt`,
        `step '${id}' prompt is ${article(shape(prompt))}${isRef(prompt) ? ` (${String(prompt)})` : ''}: a generative step's prompt is a string`,
      );
    if (d.promptTemplate === undefined && prompt === undefined && step.prompt === undefined)
      invalid(`steps.${id}.prompt`, `step '${id}' calls generative deployment '${d.name}': give it a prompt`);
    if (step.inputs?.stream !== undefined)
      invalid(
        `steps.${id}.inputs.stream`,
        `step '${id}': a pipeline streams its output step when the request asks (stream: true)`,
      );
  }
  const out = outputRef(p, invalid);
  checkReadable(out.text, p, kindOf, 'output');
}

/** Refuses a reference into a step's answer that the answer of that kind never holds. */
function checkReadable(ref: string, p: DeploymentSpec, kindOf: (id: string) => string, param: string): void {
  const r = parseRef(ref) as PipelineRef;
  if (!('step' in r.from)) return;
  if (refShape(r, p, kindOf) === 'unknown' && r.path.length > 0 && !knownRoot(kindOf(r.from.step), r.path[0]))
    invalid(
      param,
      `'${ref}' reads '${String(r.path[0])}' from step '${r.from.step}', a ${kindOf(r.from.step)} step, which answers ${answers(kindOf(r.from.step))}`,
    );
}

const answers = (kind: string) =>
  kind === 'tensor'
    ? '{ outputs: { <name>: nested array } }'
    : '{ output, finish_reason, usage } (outputs when n > 1)';

const knownRoot = (kind: string, seg: string | number | undefined) =>
  kind === 'tensor'
    ? seg === 'outputs'
    : ['output', 'outputs', 'finish_reason', 'usage'].includes(String(seg));

/** The shape a reference reads: from the pipeline's input schema or the kind of the step it names. */
function refShape(r: PipelineRef, p: DeploymentSpec, kindOf: (id: string) => string): Shape {
  const path = r.path;
  if ('request' in r.from) return schemaShape(p.inputSchema, path);
  const kind = kindOf(r.from.step);
  if (path.length === 0) return 'object';
  if (kind === 'tensor') {
    if (path[0] !== 'outputs') return 'unknown';
    return path.length === 1 ? 'object' : path.length === 2 ? 'array' : 'unknown';
  }
  if (path.length === 1)
    return path[0] === 'output' || path[0] === 'finish_reason'
      ? 'string'
      : path[0] === 'usage'
        ? 'object'
        : 'unknown';
  return path[0] === 'usage' && path.length === 2 ? 'number' : 'unknown';
}

/** Follows a request path through the pipeline's inputSchema (properties, items); unknown without one. */
function schemaShape(schema: unknown, path: readonly (string | number)[]): Shape {
  let s = schema as Record<string, unknown> | undefined;
  for (const seg of path) {
    if (s === undefined || typeof s !== 'object') return 'unknown';
    s = (typeof seg === 'number' ? s.items : (s.properties as Record<string, unknown> | undefined)?.[seg]) as
      Record<string, unknown> | undefined;
  }
  const t = s?.type;
  return t === 'integer'
    ? 'number'
    : typeof t === 'string' && ['string', 'number', 'array', 'object', 'boolean'].includes(t)
      ? (t as Shape)
      : 'unknown';
}

function literalShape(v: unknown): Shape {
  if (Array.isArray(v)) return 'array';
  if (v === null) return 'unknown';
  const t = typeof v;
  return t === 'string' || t === 'number' || t === 'boolean' ? t : 'object';
}

const article = (s: Shape) => (s === 'array' || s === 'object' ? `an ${s}` : `a ${s}`);
