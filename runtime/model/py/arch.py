"""The warmgate decoder-only transformer, as trained.

Byte-level (vocab 256 + end-of-text), learned absolute positions, pre-LayerNorm blocks, grouped-query
attention (n_kv_head < n_head shrinks the KV cache, which is what bounds concurrency), exact GELU MLP,
tied input/output embeddings. Training uses this module directly; export.py re-expresses the same
weights as the engine's paged-attention ONNX graph, so every parameter name here is part of that contract.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

EOS_TOKEN = 256


@dataclass(frozen=True)
class Config:
    vocab_size: int = 257
    context_length: int = 1024
    d_model: int = 256
    n_layer: int = 4
    n_head: int = 8
    n_kv_head: int = 2
    d_ff: int = 1024
    norm_eps: float = 1e-5

    @property
    def head_dim(self) -> int:
        return self.d_model // self.n_head

    def to_dict(self) -> dict:
        return asdict(self)


class Attention(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.c = c
        self.wq = nn.Linear(c.d_model, c.n_head * c.head_dim, bias=False)
        self.wk = nn.Linear(c.d_model, c.n_kv_head * c.head_dim, bias=False)
        self.wv = nn.Linear(c.d_model, c.n_kv_head * c.head_dim, bias=False)
        self.wo = nn.Linear(c.n_head * c.head_dim, c.d_model, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = self.c
        b, t, _ = x.shape
        q = self.wq(x).view(b, t, c.n_head, c.head_dim).transpose(1, 2)
        k = self.wk(x).view(b, t, c.n_kv_head, c.head_dim).transpose(1, 2)
        v = self.wv(x).view(b, t, c.n_kv_head, c.head_dim).transpose(1, 2)
        group = c.n_head // c.n_kv_head
        k = k.repeat_interleave(group, dim=1)
        v = v.repeat_interleave(group, dim=1)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(c.head_dim)
        causal = torch.ones(t, t, dtype=torch.bool, device=x.device).tril()
        att = att.masked_fill(~causal, float("-inf")).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(b, t, c.n_head * c.head_dim)
        return self.wo(y)


class Block(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.ln1 = nn.LayerNorm(c.d_model, eps=c.norm_eps)
        self.attn = Attention(c)
        self.ln2 = nn.LayerNorm(c.d_model, eps=c.norm_eps)
        self.fc1 = nn.Linear(c.d_model, c.d_ff, bias=False)
        self.fc2 = nn.Linear(c.d_ff, c.d_model, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln1(x))
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x))))


class Transformer(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.c = c
        self.tok = nn.Embedding(c.vocab_size, c.d_model)
        self.pos = nn.Embedding(c.context_length, c.d_model)
        self.blocks = nn.ModuleList(Block(c) for _ in range(c.n_layer))
        self.ln_f = nn.LayerNorm(c.d_model, eps=c.norm_eps)
        self.apply(self._init)

    @staticmethod
    def _init(m: nn.Module) -> None:
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, mean=0.0, std=0.02)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """ids [batch, time] -> logits [batch, time, vocab]."""
        t = ids.shape[1]
        x = self.tok(ids) + self.pos(torch.arange(t, device=ids.device))
        for block in self.blocks:
            x = block(x)
        return self.ln_f(x) @ self.tok.weight.T


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
