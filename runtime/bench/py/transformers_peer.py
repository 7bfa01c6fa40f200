#!/usr/bin/env python3
"""bench:gpu's peer: the workload bench:gpu wrote (prompt ids and output lengths) through Hugging Face
`transformers` on the same GPU with the same weights. Two ways, as transformers offers them:

- `generate`, batched: the workload in order, `--max-batch` prompts a batch, left-padded; each batch runs
  to its longest output, and only each request's own output length counts (static batching).
- continuous batching (`init_continuous_batching` / `generate_batch`, in transformers versions that have
  it): every request added with its own output length.

Greedy, eos ignored (min_new_tokens), as warmgate's runs. Prints one JSON object.

    python3 runtime/bench/py/transformers_peer.py --model DIR --workload FILE --dtype float32
"""

import argparse
import json
import time
import traceback

import torch
import transformers
from transformers import AutoModelForCausalLM, GenerationConfig

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def batched_generate(model, work, max_batch, pad_id):
    useful = 0
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for i in range(0, len(work), max_batch):
        batch = work[i : i + max_batch]
        width = max(len(r["prompt"]) for r in batch)
        ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for j, r in enumerate(batch):
            ids[j, width - len(r["prompt"]) :] = torch.tensor(r["prompt"])
            mask[j, width - len(r["prompt"]) :] = 1
        n = max(r["maxTokens"] for r in batch)
        out = model.generate(
            input_ids=ids.cuda(),
            attention_mask=mask.cuda(),
            max_new_tokens=n,
            min_new_tokens=n,
            do_sample=False,
            pad_token_id=pad_id,
        )
        assert out.shape[1] == width + n
        useful += sum(r["maxTokens"] for r in batch)
    torch.cuda.synchronize()
    return {"output_tokens": useful, "wall_ms": 1000 * (time.perf_counter() - t0)}


def continuous(model, work, max_batch, pad_id):
    n = max(r["maxTokens"] for r in work)
    config = GenerationConfig(
        max_new_tokens=n,
        do_sample=False,
        pad_token_id=pad_id,
        eos_token_id=-1,
        max_batch_tokens=max(256, max_batch * 16),
    )
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    manager = model.init_continuous_batching(generation_config=config)
    manager.start()
    ids = [manager.add_request(input_ids=r["prompt"], max_new_tokens=r["maxTokens"]) for r in work]
    got = 0
    for _ in ids:
        result = manager.get_result(timeout=600)
        got += len(result.generated_tokens)
    manager.stop(block=True)
    torch.cuda.synchronize()
    return {"output_tokens": got, "wall_ms": 1000 * (time.perf_counter() - t0), "api": "init_continuous_batching"}


def copy_bandwidth_gb_s(nbytes: int = 1 << 30, reps: int = 20) -> float:
    """The device's memory bandwidth as CUDA's own copy reaches it: each byte read and written once."""
    x = torch.empty(nbytes // 4, dtype=torch.float32, device="cuda")
    y = torch.empty_like(x)
    y.copy_(x)
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        y.copy_(x)
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end))
    times.sort()
    return 2 * nbytes / (times[len(times) // 2] / 1000) / 1e9


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--workload", required=True)
    ap.add_argument("--dtype", default="float32", choices=sorted(DTYPES))
    ap.add_argument("--max-batch", type=int, default=32)
    args = ap.parse_args()
    work = json.load(open(args.workload))
    model = AutoModelForCausalLM.from_pretrained(args.model, dtype=DTYPES[args.dtype]).cuda().eval()
    pad_id = 0
    result = {
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "device": torch.cuda.get_device_name(0),
        "dtype": args.dtype,
        "requests": len(work),
        "max_batch": args.max_batch,
        "copy_gb_s": copy_bandwidth_gb_s(),
    }
    with torch.inference_mode():
        # Warm-up: kernels chosen and memory pools filled before anything is timed.
        batched_generate(model, work[:4], args.max_batch, pad_id)
        b = batched_generate(model, work, args.max_batch, pad_id)
        result["generate_batched"] = {**b, "tps": 1000 * b["output_tokens"] / b["wall_ms"]}
        if hasattr(model, "init_continuous_batching"):
            try:
                c = continuous(model, work, args.max_batch, pad_id)
                result["continuous_batching"] = {**c, "tps": 1000 * c["output_tokens"] / c["wall_ms"]}
            except Exception as e:  # the API moves between versions: report, do not hide
                result["continuous_batching"] = {"error": f"{type(e).__name__}: {e}", "trace": traceback.format_exc()[-2000:]}
        else:
            result["continuous_batching"] = {"error": "this transformers has no continuous batching"}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
