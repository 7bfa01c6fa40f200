#!/usr/bin/env bash
# npm run test:gpu (GPU hosts only; CI has none): the engine's and the LoRA adapters' tests on WebGPU with
# the KV pool (and the adapter slot stacks) on the device, at float32 and float16, then imported models at
# every weight dtype against the CPU and transformers (gpu-dtype-check). Needs dist/ built with
# tsconfig.gpu-tests.json (the npm script does).
#
# float16 pools run PagedAttention (the loader's choice on WebGPU) on the demo model (the engine's tests
# run the tiny model elsewhere, whose head size of 8 the kernel refuses), once more the fused step
# (device-fp16-fused, tiny model), and once more with the paged step computing in float16
# (device-fp16-half, demo model). The test files run as thirteen processes at once (three groups per form,
# and the dtype check): a GPU host has the cores, and the longest group, not the sum, sets how long a run
# takes. Each process writes its own log; the summary names the ones that failed. WARMGATE_TEST_GPU_LOGS
# sets the logs' folder; WARMGATE_TEST_GPU_KV the forms to run (default: all four).
set -uo pipefail
cd "$(dirname "$0")/../.."
logs=${WARMGATE_TEST_GPU_LOGS:-$(mktemp -d -t warmgate-test-gpu-XXXX)}
mkdir -p "$logs"
E=dist/test/runtime/engine
groups=(
  "$E/batched-equals-alone.test.js"
  "$E/no-leaks.test.js $E/admission-and-streaming.test.js $E/device-step-layout.test.js $E/scheduler.test.js $E/seeded-sampling.test.js dist/test/runtime/model/graph/greedy-rows.test.js"
  "$E/logits-match-reference.test.js dist/test/runtime/model/import/engine-goldens.test.js $(echo dist/test/runtime/adapters/lora-*.test.js)"
)
names=()
pids=()
# A run stopped from outside (a timeout) stops its tests too.
trap 'kill "${pids[@]}" 2>/dev/null; exit 143' TERM INT
for form in ${WARMGATE_TEST_GPU_KV:-device device-fp16 device-fp16-fused device-fp16-half}; do
  kv=${form%-fused}
  kv=${kv%-half}
  attention=$([ "$form" = "${form%-fused}" ] || echo fused)
  compute=$([ "$form" = "${form%-half}" ] || echo float16)
  # The paged forms run the demo model (head size 32): the tiny model's 8 keeps it on the fused step.
  model=$([ "$kv" = device-fp16 ] && [ -z "$attention" ] && echo demo || echo tiny)
  for i in "${!groups[@]}"; do
    name="$form-$((i + 1))"
    # ${groups[$i]} unquoted: a group is a list of files.
    WARMGATE_TEST_EP=webgpu WARMGATE_TEST_KV=$kv WARMGATE_TEST_ATTENTION=$attention WARMGATE_TEST_COMPUTE=$compute WARMGATE_TEST_MODEL=$model \
      node --test --test-concurrency=1 ${groups[$i]} >"$logs/$name.log" 2>&1 &
    names+=("$name")
    pids+=($!)
  done
done
node dist/runtime/bench/gpu-dtype-check.js >"$logs/dtype-check.log" 2>&1 &
names+=(dtype-check)
pids+=($!)
status=0
for i in "${!pids[@]}"; do
  if wait "${pids[$i]}"; then result=passed; else result=FAILED status=1; fi
  # node --test's totals, or the dtype check's last line ("N cases, M failed").
  counts=$(grep -E '^# (pass|fail|cancelled) ' "$logs/${names[$i]}.log" | tr '\n' ' ')
  [ -n "$counts" ] || counts=$(tail -1 "$logs/${names[$i]}.log")
  echo "${names[$i]}: $result ${counts}"
done
grep -h '^not ok' "$logs"/*.log
echo "logs: $logs"
exit $status
