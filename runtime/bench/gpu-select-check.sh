#!/usr/bin/env bash
# GPU hosts only: which GPU an instance started with --gpu N runs on. For each GPU of the host (at most
# four) it starts the demo model on webgpu with --gpu N, waits for it to be ready, and reads from
# nvidia-smi which GPU holds the process; then it asks Mesa's device-select layer directly (DRI_PRIME with
# GPU 0's PCI address, MESA_VK_DEVICE_SELECT_DEBUG=1) to show the layer picking by address on this
# driver. Several GPUs need the layer (Debian: mesa-vulkan-drivers; runtime/instance/gpu-select.ts).
# Needs dist/ built. Writes logs to the folder given (default /tmp/gpu-select-check); exit 1 if any
# instance ran elsewhere than asked.
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${1:-/tmp/gpu-select-check}
mkdir -p "$out"
mapfile -t buses < <(nvidia-smi --query-gpu=pci.bus_id --format=csv,noheader)
echo "GPUs: ${#buses[@]} (${buses[*]})"
status=0

# Starts the demo model on webgpu with the given flags; prints its pid once ready (or nothing).
start() {
  local log=$1
  shift
  node dist/runtime/instance/main.js --model runtime/models/demo --kind generative --port 0 --kv-mb 64 \
    --ep webgpu --ep-required "$@" >"$log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 120); do
    grep -q 'instance ready' "$log" && { echo $pid; return; }
    kill -0 $pid 2>/dev/null || return
    sleep 0.5
  done
  kill $pid 2>/dev/null
}

# The bus id nvidia-smi gives the GPU that holds process $1 (its process table: GPU index, then pid).
gpu_of() {
  local idx
  idx=$(nvidia-smi | awk -v p="$1" '$1 == "|" && $5 == p { print $2; exit }')
  [ -n "$idx" ] && [ "$idx" -lt "${#buses[@]}" ] && echo "$idx ${buses[$idx]}"
}

n=${#buses[@]}
[ "$n" -gt 4 ] && n=4
for i in $(seq 0 $((n - 1))); do
  pid=$(start "$out/gpu$i.log" --gpu "$i")
  if [ -z "$pid" ]; then
    echo "--gpu $i: did not start: $(tail -2 "$out/gpu$i.log" | tr '\n' ' ')"
    status=1
    continue
  fi
  on=$(gpu_of "$pid")
  echo "--gpu $i: $(grep -o 'instance ready: .*' "$out/gpu$i.log" | cut -c1-90); nvidia-smi puts pid $pid on GPU ${on:-?}"
  [ "${on%% *}" = "$i" ] || status=1
  kill -TERM "$pid"
  wait "$pid" 2>/dev/null
done

pid=$(start "$out/past.log" --gpu "${#buses[@]}")
[ -n "$pid" ] && { kill -TERM "$pid"; status=1; }
echo "--gpu ${#buses[@]} (past the last): $(grep -o 'instance failed.*' "$out/past.log" | cut -c1-200)"

# The layer itself, told GPU 0's address (as gpu-select.ts tells it GPU N's on a host with several).
bus=${buses[0],,}
tag=$(echo "${bus: -12}" | sed -E 's/^(....):(..):(..)\.(.)$/pci-\1_\2_\3_\4/')
pid=$(DRI_PRIME=$tag MESA_VK_DEVICE_SELECT_FORCE_DEFAULT_DEVICE=1 MESA_VK_DEVICE_SELECT_DEBUG=1 start "$out/layer.log")
echo "layer, DRI_PRIME=$tag: $(grep -i -E 'selected|device' "$out/layer.log" | head -4 | tr '\n' ' ')"
[ -n "$pid" ] && { kill -TERM "$pid"; wait "$pid" 2>/dev/null; }
exit $status
