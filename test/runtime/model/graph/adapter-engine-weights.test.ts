// ONNX Runtime's CPU MatMul pre-packs a constant weight at load only where the weight is an initializer
// of the node's own graph or of the graph just above it; two If levels down it multiplies the weight
// unpacked on every run (BENCHMARKS.md, LoRA: 2.5-6% of a step). engine.onnx with adapters must keep
// every read of a weight within one level, with the adapter products in Ifs of their own.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from '../../../../runtime/bench/repo-root.ts';
import { resolveArchitecture } from '../../../../runtime/model/architecture.ts';
import { buildAdapterEngineGraph, weightIndexOfGraph } from '../../../../runtime/model/graph/index.ts';
import { readManifest } from '../../../../runtime/model/index.ts';
import { decodeModel } from '../../../../runtime/model/onnx/index.ts';

type GraphProto = NonNullable<ReturnType<typeof decodeModel>['graph']>;

/** Each top-level initializer's deepest reading node, in If levels below the main graph. */
function weightReadDepths(main: GraphProto): Map<string, number> {
  const weights = new Set((main.initializer ?? []).map((t) => t.name!));
  const depths = new Map<string, number>();
  const walk = (g: GraphProto, depth: number) => {
    for (const node of g.node ?? []) {
      for (const input of node.input ?? [])
        if (weights.has(input)) depths.set(input, Math.max(depths.get(input) ?? 0, depth));
      for (const attr of node.attribute ?? []) if (attr.g) walk(attr.g as GraphProto, depth + 1);
    }
  };
  walk(main, 0);
  return depths;
}

async function demo() {
  const dir = join(repoRoot(), 'runtime/models/demo');
  const manifest = await readManifest(dir);
  const arch = resolveArchitecture(manifest.architecture);
  const engine = decodeModel(await readFile(join(dir, manifest.files.engine.path)));
  return { arch, engine, ...weightIndexOfGraph(engine, arch) };
}

describe('engine.onnx with adapters: where the weights are read', () => {
  it('every weight is read at most one If level below the graph that holds it, as in engine.onnx', async () => {
    const { arch, engine, index, location } = await demo();
    const adapted = decodeModel(
      buildAdapterEngineGraph(
        arch,
        index,
        { slots: 5, maxRank: 8, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj'] },
        location,
      ),
    );
    const plain = weightReadDepths(engine.graph!);
    const withAdapters = weightReadDepths(adapted.graph!);
    // The check reads something: the projections' weights are there, read from inside the decode_only If.
    assert.ok(withAdapters.size >= 4 * arch.n_layer, `${withAdapters.size} weights read`);
    assert.deepEqual(new Set(withAdapters.values()), new Set([1]));
    assert.deepEqual(new Set(plain.values()), new Set([1]));
  });
});
