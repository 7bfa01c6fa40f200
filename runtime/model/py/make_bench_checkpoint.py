#!/usr/bin/env python3
"""A Llama-architecture checkpoint of about 0.5 B parameters with random weights, as `save_pretrained`
writes it, for bench:gpu: the same weights run in warmgate (through `warmgate import`) and in Hugging
Face `transformers` (the benchmark's peer). Nothing is downloaded: the weights are transformers' own
random initialisation (seeded), the tokenizer is a fixture's (its vocabulary is smaller than the
model's; the model's 32,000-row head is what sets the cost).

    python3 runtime/model/py/make_bench_checkpoint.py --tokenizer-from test/fixtures/hf/llama --out DIR

Needs torch and transformers (the GPU host has them; the runtime does not).
"""

import argparse
import shutil
from pathlib import Path

import torch
from transformers import LlamaConfig, LlamaForCausalLM


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--tokenizer-from", required=True, help="a folder with tokenizer.json and tokenizer_config.json")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--layers", type=int, default=28)
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    config = LlamaConfig(
        vocab_size=32000,
        hidden_size=1024,
        intermediate_size=4096,
        num_hidden_layers=args.layers,
        num_attention_heads=16,
        num_key_value_heads=8,
        max_position_embeddings=2048,
        rms_norm_eps=1e-5,
        rope_theta=10000.0,
        tie_word_embeddings=False,
        bos_token_id=1,
        eos_token_id=2,
    )
    model = LlamaForCausalLM(config).to(torch.bfloat16)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(Path(args.tokenizer_from) / name, out / name)
    params = sum(p.numel() for p in model.parameters())
    print(f"{out}: {params / 1e6:.1f} M parameters (bf16)")


if __name__ == "__main__":
    main()
