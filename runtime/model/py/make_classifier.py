"""The demo tensor model: a small MLP classifier served as a KServe v2 / Triton-style tensor function.

    /usr/bin/python3 runtime/model/py/make_classifier.py      (writes runtime/models/classifier/)

It tells which of three Tiny Shakespeare speakers (ROMEO, JULIET, MENENIUS) a line's byte histogram is
most like. Weights are fitted here by a few hundred steps of softmax regression with numpy on features
from the corpus: small, deterministic, reproducible, and meaningful enough to demo.
Input `features` [batch, 16] float32 (the line's byte histogram folded into 16 bins, normalised);
output `probabilities` [batch, 3] float32.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper

SPEAKERS = ["ROMEO", "JULIET", "MENENIUS"]
BINS = 16


def features(line: str) -> np.ndarray:
    h = np.zeros(BINS, np.float32)
    for b in line.encode("utf-8"):
        h[b % BINS] += 1
    return h / max(1.0, h.sum())


def dataset(corpus: str) -> tuple[np.ndarray, np.ndarray]:
    xs, ys, speaker = [], [], None
    opener = gzip.open if corpus.endswith(".gz") else open
    for line in opener(corpus, "rt", encoding="utf-8"):
        line = line.rstrip("\n")
        if line.endswith(":") and line[:-1] in SPEAKERS:
            speaker = SPEAKERS.index(line[:-1])
        elif not line:
            speaker = None
        elif speaker is not None:
            xs.append(features(line))
            ys.append(speaker)
    return np.stack(xs), np.array(ys)


def main() -> None:
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    shipped = os.path.join(os.path.dirname(root), "data", "corpus", "tinyshakespeare.txt.gz")
    corpus = sys.argv[1] if len(sys.argv) > 1 else shipped
    x, y = dataset(corpus)
    rng = np.random.default_rng(20261122)
    hidden = 32
    w1 = rng.normal(0, 0.5, (BINS, hidden)).astype(np.float32)
    b1 = np.zeros(hidden, np.float32)
    w2 = rng.normal(0, 0.5, (hidden, 3)).astype(np.float32)
    b2 = np.zeros(3, np.float32)
    onehot = np.eye(3, dtype=np.float32)[y]
    lr = 0.5
    for _ in range(400):  # full-batch gradient descent on cross-entropy
        h = np.maximum(x @ w1 + b1, 0)
        z = h @ w2 + b2
        p = np.exp(z - z.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        g = (p - onehot) / len(x)
        gh = (g @ w2.T) * (h > 0)
        w2 -= lr * h.T @ g
        b2 -= lr * g.sum(0)
        w1 -= lr * x.T @ gh
        b1 -= lr * gh.sum(0)
    accuracy = float(((np.maximum(x @ w1 + b1, 0) @ w2 + b2).argmax(1) == y).mean())

    init = [helper.make_tensor(n, TensorProto.FLOAT, a.shape, a.flatten().tolist()) for n, a in
            (("w1", w1), ("b1", b1), ("w2", w2), ("b2", b2))]
    nodes = [
        helper.make_node("MatMul", ["features", "w1"], ["h0"]),
        helper.make_node("Add", ["h0", "b1"], ["h1"]),
        helper.make_node("Relu", ["h1"], ["h"]),
        helper.make_node("MatMul", ["h", "w2"], ["z0"]),
        helper.make_node("Add", ["z0", "b2"], ["z"]),
        helper.make_node("Softmax", ["z"], ["probabilities"], axis=-1),
    ]
    graph = helper.make_graph(nodes, "warmgate_classifier",
                              [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", BINS])],
                              [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", 3])], init)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="warmgate")
    model.ir_version = 8
    out = os.path.join(root, "models", "classifier")
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "model.onnx")
    onnx.save(model, path)
    sha = hashlib.sha256(open(path, "rb").read()).hexdigest()
    manifest = {
        "format": "warmgate-tensor-model/1",
        "name": "speaker-classifier",
        "inputs": [{"name": "features", "datatype": "FP32", "shape": [-1, BINS]}],
        "outputs": [{"name": "probabilities", "datatype": "FP32", "shape": [-1, 3]}],
        "labels": SPEAKERS,
        "files": {"model": {"path": "model.onnx", "sha256": sha}},
        "training": {"examples": int(len(x)), "train_accuracy": round(accuracy, 4), "majority_class": round(float(np.bincount(y).max() / len(y)), 4)},
    }
    with open(os.path.join(out, "model.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    print(json.dumps(manifest["training"]))


if __name__ == "__main__":
    main()
