import { isRef, parseRef, templateRefs } from './pipeline-path.ts';
import type { PipelineStep } from './pipeline-types.ts';

/** Every reference a step holds, where it holds it (the field to name when one is wrong). */
export function stepRefs(step: PipelineStep): { at: string; ref: string }[] {
  const out: { at: string; ref: string }[] = [];
  for (const [field, v] of Object.entries(step.inputs ?? {}))
    if (isRef(v)) out.push({ at: `inputs.${field}`, ref: v });
  const p = step.prompt;
  if (typeof p === 'string') for (const ref of templateRefs(p)) out.push({ at: 'prompt', ref });
  else if (p !== undefined) {
    out.push({ at: 'prompt.by', ref: p.by });
    const cases = Array.isArray(p.cases) ? p.cases.entries() : Object.entries(p.cases);
    for (const [key, t] of cases)
      for (const ref of templateRefs(t)) out.push({ at: `prompt.cases.${key}`, ref });
    if (p.default !== undefined)
      for (const ref of templateRefs(p.default)) out.push({ at: 'prompt.default', ref });
  }
  return out;
}

/** The steps a step reads from: it starts once they have answered. */
export function upstreamOf(step: PipelineStep): string[] {
  const ids = new Set<string>();
  for (const { ref } of stepRefs(step)) {
    const r = parseRef(ref);
    if ('from' in r && 'step' in r.from) ids.add(r.from.step);
  }
  return [...ids];
}

export type PipelinePlan =
  | { ok: true; layers: string[][]; needs: ReadonlyMap<string, readonly string[]> }
  | { ok: false; cycle: string[] };

/**
 * The steps in topological layers (each layer needs only earlier ones; a layer's steps are independent),
 * or a cycle when there is one. Pure; references to unknown steps must have been refused before.
 */
export function planPipeline(steps: Readonly<Record<string, PipelineStep>>): PipelinePlan {
  const needs = new Map(Object.entries(steps).map(([id, s]) => [id, upstreamOf(s)]));
  const layers: string[][] = [];
  const done = new Set<string>();
  while (done.size < needs.size) {
    const layer = [...needs]
      .filter(([id, up]) => !done.has(id) && up.every((u) => done.has(u)))
      .map(([id]) => id);
    if (layer.length === 0) return { ok: false, cycle: findCycle(needs, done) };
    for (const id of layer) done.add(id);
    layers.push(layer);
  }
  return { ok: true, layers, needs };
}

/** One cycle among the steps not placed (each of them waits on another of them): walk until one repeats. */
function findCycle(needs: ReadonlyMap<string, readonly string[]>, done: ReadonlySet<string>): string[] {
  const left = [...needs.keys()].filter((id) => !done.has(id));
  const path: string[] = [];
  let at = left[0]!;
  while (!path.includes(at)) {
    path.push(at);
    at = needs.get(at)!.find((u) => !done.has(u))!;
  }
  return [...path.slice(path.indexOf(at)), at];
}
