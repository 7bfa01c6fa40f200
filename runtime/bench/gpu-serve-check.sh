#!/usr/bin/env bash
# GPU hosts only: the demo platform (npm start) with its generative model on the GPU (WARMGATE_EP=webgpu),
# OpenAI requests through the gateway, and what the platform reports about the instance. Needs dist/
# built. Writes the answers and logs to the folder given (default /tmp/gpu-serve-check).
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${1:-/tmp/gpu-serve-check}
mkdir -p "$out"
export WARMGATE_EP=${WARMGATE_EP:-webgpu} WARMGATE_ADMIN_TOKEN=${WARMGATE_ADMIN_TOKEN:-gpu-serve-check} PORT=${PORT:-8080}
u=http://127.0.0.1:$PORT
node dist/warmpool/demo.js >"$out/platform.log" 2>&1 &
pid=$!
trap 'kill -INT $pid 2>/dev/null; wait $pid' EXIT
chat() {
  curl -s -o "$1" -w '%{http_code} %{time_total}\n' "$u/v1/chat/completions" -H 'content-type: application/json' \
    -d "{\"model\":\"demo\",\"messages\":[{\"role\":\"user\",\"content\":\"$2\"}],\"max_tokens\":24,\"temperature\":0${3:-}}"
}
started=$(date +%s)
until [ "$(chat /dev/null 'ready?' | cut -d' ' -f1)" = 200 ]; do
  kill -0 $pid 2>/dev/null || { echo "the platform exited"; tail -40 "$out/platform.log"; exit 1; }
  [ $(($(date +%s) - started)) -gt 180 ] && { echo "no answer within 180 s"; tail -40 "$out/platform.log"; exit 1; }
  sleep 1
done
echo "first 200 after $(($(date +%s) - started)) s"
echo "chat: $(chat "$out/chat.json" 'To be, or not to be')"
echo "stream: $(chat "$out/stream.txt" 'Once more unto the breach' ',"stream":true')"
curl -s "$u/admin/v1/instances" -H "authorization: Bearer $WARMGATE_ADMIN_TOKEN" >"$out/instances.json"
curl -s "$u/v1/models" >"$out/models.json"
t0=$(date +%s%N)
pids=()
for i in $(seq 1 32); do
  chat "$out/c$i.json" "Friends, Romans, countrymen $i" >"$out/c$i.status" &
  pids+=($!)
done
wait "${pids[@]}"
ok=$(cat "$out"/c*.status | grep -c '^200 ')
echo "32 concurrent chats: $ok answered 200 in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
# What the instance itself says it runs on: /load, and its metrics.
iu=$(node -e 'const p=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")).pools.find(p=>p.deployment==="demo");console.log(p.instances[0].url)' "$out/instances.json")
curl -s "$iu/load" >"$out/load.json"
echo "instance /load: $(head -c 400 "$out/load.json")"
curl -s "$iu/metrics" | grep -i 'provider\|start_phase' | head -12
