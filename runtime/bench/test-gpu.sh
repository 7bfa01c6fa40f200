#!/usr/bin/env bash
# npm run test:gpu (GPU hosts only; CI has none): the engine's and the LoRA adapters' tests on WebGPU with
# the KV pool (and the adapter slot stacks) on the device, at float32 and float16, then imported models at every weight dtype against the CPU and
# transformers (gpu-dtype-check). Needs dist/ built with tsconfig.gpu-tests.json (the npm script does).
set -uo pipefail
cd "$(dirname "$0")/../.."
status=0
for kv in device device-fp16; do
  echo "== engine tests on webgpu, KV pool: $kv"
  WARMGATE_TEST_EP=webgpu WARMGATE_TEST_KV=$kv node --test --test-concurrency=1 dist/test/runtime/engine/*.test.js \
    dist/test/runtime/model/import/engine-goldens.test.js dist/test/runtime/adapters/lora-*.test.js || status=1
done
echo "== imported models at float32, float16, int4 on webgpu"
node dist/runtime/bench/gpu-dtype-check.js || status=1
exit $status
