"""The tiny deterministic test model: seeded random weights, small enough to commit.

    /usr/bin/python3 runtime/model/py/make_tiny.py      (writes runtime/models/tiny/)

Weights are drawn at a scale of 1/sqrt(fan_in) (embeddings at 1) rather than the training init of 0.02,
so that logits are spread out: greedy decoding then has clear winners, and tests comparing batched with
one-at-a-time output compare decisions, not floating-point coin flips.
"""

from __future__ import annotations

import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from arch import Config, Transformer  # noqa: E402
from export import export  # noqa: E402

TINY = Config(vocab_size=257, context_length=256, d_model=32, n_layer=2, n_head=4, n_kv_head=2, d_ff=64)


def main() -> None:
    torch.manual_seed(20261122)
    model = Transformer(TINY)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, std=m.in_features ** -0.5)
            elif isinstance(m, nn.Embedding):
                nn.init.normal_(m.weight, std=1.0)
            elif isinstance(m, nn.LayerNorm):
                nn.init.normal_(m.weight, mean=1.0, std=0.1)
                nn.init.normal_(m.bias, std=0.1)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    export(model, os.path.join(root, "models", "tiny"), "tiny-test", {"training": {"seeded": 20261122}})


if __name__ == "__main__":
    main()
