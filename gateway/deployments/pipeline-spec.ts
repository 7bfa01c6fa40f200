import { parseRef, type PipelineRef } from './pipeline-path.ts';
import { planPipeline, stepRefs } from './pipeline-plan.ts';
import type { PipelineFields } from './pipeline-types.ts';

const STEP_ID = '^[A-Za-z][A-Za-z0-9_-]{0,62}$';
const template = { type: 'string', minLength: 1, maxLength: 65_536 } as const;

/** The JSON Schema of `steps` (spec.ts holds it in the deployment's). */
export const STEPS_SCHEMA = {
  type: 'object',
  minProperties: 1,
  maxProperties: 64,
  propertyNames: { pattern: STEP_ID },
  additionalProperties: {
    type: 'object',
    additionalProperties: false,
    required: ['deployment'],
    properties: {
      deployment: { type: 'string', pattern: '^[a-z0-9][a-z0-9._-]{0,62}$' },
      inputs: { type: 'object', maxProperties: 64 },
      prompt: {
        oneOf: [
          template,
          {
            type: 'object',
            additionalProperties: false,
            required: ['by', 'cases'],
            properties: {
              by: { type: 'string' },
              cases: {
                oneOf: [
                  { type: 'array', minItems: 1, maxItems: 1024, items: template },
                  { type: 'object', minProperties: 1, maxProperties: 1024, additionalProperties: template },
                ],
              },
              default: template,
            },
          },
        ],
      },
    },
  },
} as const;

type Fail = (param: string, message: string) => never;

/**
 * What a pipeline may hold, seen alone: steps whose references parse and name steps of its own, no
 * cycle, an output; nothing that configures instances (it has none). Whether the steps' deployments
 * exist and fit is the registry's check (pipeline-relations.ts).
 */
export function checkPipelineFields(
  d: PipelineFields & Partial<Record<'model' | 'base' | 'batching' | 'runtime' | 'promptTemplate', unknown>>,
  fail: Fail,
): void {
  for (const field of ['model', 'base', 'batching', 'runtime', 'promptTemplate'] as const)
    if (d[field] !== undefined)
      fail(field, `a pipeline runs other deployments: ${field} belongs on its steps' deployments`);
  const steps = d.steps;
  if (steps === undefined) fail('steps', 'a pipeline needs steps: { <id>: { deployment, inputs } }');
  const ids = Object.keys(steps!);
  for (const [id, step] of Object.entries(steps!)) {
    for (const { at, ref } of stepRefs(step)) {
      const r = parseRef(ref);
      if ('error' in r) fail(`steps.${id}.${at}`, `step '${id}' ${at}: ${r.error}`);
      const from = (r as PipelineRef).from;
      if ('step' in from && !ids.includes(from.step))
        fail(
          `steps.${id}.${at}`,
          `step '${id}' ${at} reads '${ref}', but '${from.step}' is not a step of this pipeline (steps: ${ids.join(', ')})`,
        );
    }
    if (step.prompt !== undefined && step.inputs?.prompt !== undefined)
      fail(`steps.${id}.prompt`, `step '${id}' gives its prompt twice: in prompt and in inputs.prompt`);
  }
  const plan = planPipeline(steps!);
  if (!plan.ok) fail('steps', `the steps form a cycle: ${plan.cycle.join(' -> ')}`);
  outputRef(d, fail);
}

/**
 * What the pipeline answers: `output` as written, else the one step no other reads from. A reference
 * into a step (`$.steps.<id>...`), as the answer is made of what steps answered.
 */
export function outputRef(d: PipelineFields, fail: Fail): PipelineRef & { from: { step: string } } {
  const steps = d.steps!;
  let text = d.output;
  if (text === undefined) {
    const read = new Set(
      Object.values(steps).flatMap((s) =>
        stepRefs(s).map(({ ref }) => {
          const r = parseRef(ref);
          return 'from' in r && 'step' in r.from ? r.from.step : null;
        }),
      ),
    );
    const last = Object.keys(steps).filter((id) => !read.has(id));
    if (last.length !== 1)
      fail(
        'output',
        `name what the pipeline answers (output: $.steps.<id>): steps ${last.join(', ')} all end it`,
      );
    text = `$.steps.${last[0]}`;
  }
  const r = parseRef(text!);
  if ('error' in r) return fail('output', `output: ${r.error}`);
  if (!('step' in r.from))
    return fail('output', `output '${text}' must read a step's answer ($.steps.<id>...)`);
  if (!Object.hasOwn(steps, r.from.step))
    fail('output', `output '${text}' reads '${r.from.step}', which is not a step of this pipeline`);
  return r as PipelineRef & { from: { step: string } };
}
