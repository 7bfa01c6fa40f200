"""Export a trained (or seeded) model to the runtime's artifact folder.

    /usr/bin/python3 runtime/model/py/export.py --checkpoint runtime/models/demo/checkpoint.pt \
        --out runtime/models/demo --name demo-shakespeare

Writes weights.bin (shared external data), engine.onnx, reference.onnx, decode_contiguous.onnx,
golden.json (torch logits for a fixed prompt: an implementation independent of every ONNX graph) and
model.json, the manifest the runtime validates at load (architecture, tokenizer, KV layout, dtype and the
sha256 of every file, so a truncated or swapped file is refused before ONNX Runtime sees it).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys

import onnx
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from arch import EOS_TOKEN, Config, Transformer  # noqa: E402
from graphs import add_weights, decode_contiguous_graph, engine_graph, reference_graph  # noqa: E402
from onnx_builder import WeightFile  # noqa: E402

GOLDEN_PROMPT = "First Citizen:\nBefore we proceed any further, hear me speak."


def sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def export(model: Transformer, out: str, name: str, extra: dict) -> dict:
    os.makedirs(out, exist_ok=True)
    cfg = model.c.to_dict() | {"head_dim": model.c.head_dim}
    wf = WeightFile("weights.bin")
    add_weights(wf, model.state_dict(), model.c.n_layer)
    with open(os.path.join(out, "weights.bin"), "wb") as f:
        f.write(wf.blob)
    files = {"weights": "weights.bin"}
    for role, build in (
        ("engine", engine_graph),
        ("reference", reference_graph),
        ("decode_contiguous", decode_contiguous_graph),
    ):
        path = os.path.join(out, f"{role}.onnx")
        onnx.save(build(cfg, wf).model({"warmgate.model": name, "warmgate.role": role}), path)
        files[role] = f"{role}.onnx"

    model.eval()
    ids = list(GOLDEN_PROMPT.encode("utf-8"))[: model.c.context_length]
    with torch.no_grad():
        logits = model(torch.tensor([ids]))[0]
    rows = sorted({0, len(ids) // 2, len(ids) - 1})
    golden = {"prompt_ids": ids, "rows": rows, "logits": [logits[r].tolist() for r in rows]}
    with open(os.path.join(out, "golden.json"), "w") as f:
        json.dump(golden, f)
    files["golden"] = "golden.json"

    manifest = {
        "format": "warmgate-model/1",
        "name": name,
        "architecture": {"type": "decoder-only-transformer", **cfg},
        "tokenizer": {"type": "byte", "vocab_size": model.c.vocab_size, "eos_token_id": EOS_TOKEN},
        "kv_layout": {
            "type": "paged",
            "key": ["block", "kv_head", "head_dim", "slot"],
            "value": ["block", "kv_head", "slot", "head_dim"],
            "dtype": "float32",
        },
        "dtype": "float32",
        "files": {role: {"path": p, "sha256": sha256(os.path.join(out, p))} for role, p in files.items()},
        **extra,
    }
    with open(os.path.join(out, "model.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    return manifest


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--name", required=True)
    a = ap.parse_args()
    ck = torch.load(a.checkpoint, map_location="cpu")
    model = Transformer(Config(**ck["config"]))
    model.load_state_dict(ck["state_dict"])
    training = {k: ck[k] for k in ("val_loss", "train_loss", "steps", "seq_len", "tokens_seen", "corpus", "split") if k in ck}
    m = export(model, a.out, a.name, {"training": training})
    print(json.dumps(m["files"], indent=2))


if __name__ == "__main__":
    main()
