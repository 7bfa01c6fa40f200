"""Train the warmgate demo model (arch.Config() defaults) on a plain-text corpus, byte by byte.

Data: the file's raw UTF-8 bytes are the tokens (0..255); no EOS token (256) is inserted inside the
corpus. Split: the first 90% of the bytes are the training set, the last 10% the validation set.

Training: random contiguous windows of seq_len + 1 bytes from the training split, next-byte
cross-entropy over every position; AdamW (betas 0.9/0.95, weight decay 0.1 on matrices only: >= 2-D
parameters, i.e. linear weights and the embeddings; LayerNorm parameters are not decayed), linear warmup
then cosine decay to lr/10 at --steps, gradient clipping at 1.0, bf16 autocast on CUDA (weights and
optimizer state stay fp32). Seeds python, numpy and torch; window sampling uses its own seeded generator.

Evaluation: mean loss (nats/byte) over a fixed, seeded set of windows from the validation split (and,
for comparison, a fixed set from the training split), every --eval-every steps and at the end. The
checkpoint keeps the weights with the best validation loss; --patience evaluations without improvement
stop the run early.

Checkpoint: torch.save({'config', 'state_dict' (fp32), 'val_loss', 'train_loss', 'steps', 'seq_len',
'tokens_seen', 'corpus', 'split'}, out) where steps / tokens_seen / losses describe the saved (best)
weights; 'steps_run' is the number of optimizer steps actually taken.

Usage (CPU smoke test):
    python3 runtime/model/py/train.py --data tinyshakespeare.txt --out /tmp/smoke.pt \
        --steps 3 --batch-size 2 --seq-len 64
"""

from __future__ import annotations

import argparse
import copy
import inspect
import math
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from arch import Config, Transformer, count_params  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, help="plain-text corpus; its bytes are the tokens")
    p.add_argument("--out", required=True, help="checkpoint path (.pt)")
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--seq-len", type=int, default=None, help="window length (default: the context, 1024)")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--warmup", type=int, default=100)
    p.add_argument("--weight-decay", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=1337)
    p.add_argument("--device", default="auto", help="auto (cuda if available), cpu, cuda, cuda:N")
    p.add_argument("--eval-every", type=int, default=250)
    p.add_argument("--eval-batches", type=int, default=20)
    p.add_argument("--patience", type=int, default=4,
                   help="stop after this many evaluations without a new best validation loss (0: never)")
    p.add_argument("--log-every", type=int, default=50)
    p.add_argument("--compile", action="store_true", help="torch.compile the model (torch >= 2)")
    p.add_argument("--sample-bytes", type=int, default=300)
    p.add_argument("--sample-prompt", default="ROMEO:")
    p.add_argument("--sample-temperature", type=float, default=0.8, help="0 = greedy")
    return p.parse_args(argv)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


def lr_at(step: int, base: float, warmup: int, total: int) -> float:
    """Linear warmup to `base`, then cosine decay to base/10 at `total` (step counts from 0)."""
    if warmup > 0 and step < warmup:
        return base * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    progress = min(max(progress, 0.0), 1.0)
    floor = base / 10
    return floor + (base - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))


def windows(data: torch.Tensor, starts: torch.Tensor, seq_len: int) -> tuple[torch.Tensor, torch.Tensor]:
    """data: 1-D uint8 on device; starts: 1-D int64 on device -> (x, y) int64 [n, seq_len]."""
    idx = starts[:, None] + torch.arange(seq_len + 1, device=data.device)[None, :]
    w = data[idx].long()
    return w[:, :-1], w[:, 1:]


def make_optimizer(model: torch.nn.Module, lr: float, weight_decay: float, device: torch.device):
    decay = [p for p in model.parameters() if p.requires_grad and p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.dim() < 2]
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    kwargs = {"lr": lr, "betas": (0.9, 0.95), "eps": 1e-8}
    if device.type == "cuda" and "fused" in inspect.signature(torch.optim.AdamW).parameters:
        kwargs["fused"] = True
    return torch.optim.AdamW(groups, **kwargs)


@torch.no_grad()
def evaluate(model, data, starts_batches, seq_len, autocast) -> float:
    model.eval()
    total = 0.0
    for starts in starts_batches:
        x, y = windows(data, starts, seq_len)
        with autocast():
            logits = model(x)
        total += F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), y.reshape(-1)).item()
    model.train()
    return total / len(starts_batches)


@torch.no_grad()
def generate(model, prompt: bytes, n: int, temperature: float, context: int, device, autocast, seed: int) -> bytes:
    """Plain full-recompute sampling: re-run the whole (context-truncated) sequence for every byte."""
    model.eval()
    g = torch.Generator(device="cpu").manual_seed(seed)
    ids = list(prompt)
    out = []
    for _ in range(n):
        x = torch.tensor([ids[-context:]], dtype=torch.long, device=device)
        with autocast():
            logits = model(x)
        last = logits[0, -1].float().cpu()
        if temperature <= 0:
            nxt = int(last.argmax())
        else:
            probs = torch.softmax(last / temperature, dim=-1)
            nxt = int(torch.multinomial(probs, 1, generator=g))
        if nxt == 256:  # EOS
            break
        ids.append(nxt)
        out.append(nxt)
    model.train()
    return bytes(out)


def main(argv=None) -> None:
    args = parse_args(argv)
    cfg = Config()
    seq_len = args.seq_len or cfg.context_length
    if not 1 <= seq_len <= cfg.context_length:
        raise SystemExit(f"--seq-len must be in 1..{cfg.context_length}")

    if args.device == "auto":
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        device = torch.device(args.device)
    seed_everything(args.seed)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True

    def autocast():
        if device.type == "cuda":
            return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
        return torch.autocast(device_type="cpu", enabled=False)

    with open(args.data, "rb") as f:
        raw = f.read()
    all_bytes = torch.from_numpy(np.frombuffer(raw, dtype=np.uint8).copy())
    n_train = int(len(all_bytes) * 0.9)
    train_data = all_bytes[:n_train].to(device)
    val_data = all_bytes[n_train:].to(device)
    if len(val_data) <= seq_len + 1 or len(train_data) <= seq_len + 1:
        raise SystemExit(f"corpus too small for --seq-len {seq_len}")

    model = Transformer(cfg).to(device)
    print(f"torch {torch.__version__} device {device}"
          + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else ""), flush=True)
    print(f"model {count_params(model):,} params, config {cfg.to_dict()}", flush=True)
    print(f"corpus {os.path.basename(args.data)}: {len(all_bytes):,} bytes, train {len(train_data):,} "
          f"(first 90%), val {len(val_data):,} (last 10%)", flush=True)
    tokens_per_step = args.batch_size * seq_len
    print(f"steps {args.steps} batch {args.batch_size} seq_len {seq_len} ({tokens_per_step:,} tokens/step, "
          f"{args.steps * tokens_per_step / len(train_data):.1f} epochs) lr {args.lr} warmup {args.warmup}",
          flush=True)

    fwd = model
    if args.compile:
        fwd = torch.compile(model)

    opt = make_optimizer(model, args.lr, args.weight_decay, device)

    # Fixed evaluation windows, independent of the training sampler.
    eval_gen = torch.Generator(device="cpu").manual_seed(args.seed + 1)

    def fixed_starts(n_bytes: int) -> list[torch.Tensor]:
        return [torch.randint(0, n_bytes - seq_len - 1 + 1, (args.batch_size,), generator=eval_gen).to(device)
                for _ in range(args.eval_batches)]

    val_starts = fixed_starts(len(val_data))
    train_eval_starts = fixed_starts(len(train_data))
    train_gen = torch.Generator(device="cpu").manual_seed(args.seed)

    best = {"val_loss": float("inf"), "train_loss": float("nan"), "step": 0, "state_dict": None}
    evals_since_best = 0
    steps_run = 0
    t0 = time.time()
    t_log = t0
    last_logged = 0

    def do_eval(step: int) -> bool:
        nonlocal evals_since_best
        te = time.time()
        vl = evaluate(fwd, val_data, val_starts, seq_len, autocast)
        tl = evaluate(fwd, train_data, train_eval_starts, seq_len, autocast)
        improved = vl < best["val_loss"]
        if improved:
            best.update(val_loss=vl, train_loss=tl, step=step,
                        state_dict={k: v.detach().float().cpu().clone() for k, v in model.state_dict().items()})
            evals_since_best = 0
        else:
            evals_since_best += 1
        print(f"eval step {step:6d} | train {tl:.4f} | val {vl:.4f}{' *best' if improved else ''} "
              f"| {time.time() - te:.1f}s | elapsed {time.time() - t0:.1f}s", flush=True)
        return improved

    model.train()
    stopped_early = False
    for step in range(args.steps):
        lr = lr_at(step, args.lr, args.warmup, args.steps)
        for group in opt.param_groups:
            group["lr"] = lr
        starts = torch.randint(0, len(train_data) - seq_len - 1 + 1, (args.batch_size,), generator=train_gen)
        x, y = windows(train_data, starts.to(device), seq_len)
        with autocast():
            logits = fwd(x)
        loss = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gnorm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        steps_run = step + 1

        if steps_run % args.log_every == 0 or steps_run == 1 or steps_run == args.steps:
            lv = loss.item()
            now = time.time()
            n_since = steps_run - last_logged
            print(f"step {steps_run:6d}/{args.steps} | loss {lv:.4f} | lr {lr:.2e} | gnorm {float(gnorm):.2f} "
                  f"| {1000 * (now - t_log) / n_since:.1f} ms/step | elapsed {now - t0:.1f}s", flush=True)
            t_log = now
            last_logged = steps_run
        if steps_run % args.eval_every == 0 or steps_run == args.steps:
            if device.type == "cuda":
                torch.cuda.synchronize()
            do_eval(steps_run)
            t_log = time.time()
            last_logged = steps_run
            if args.patience and evals_since_best >= args.patience and steps_run < args.steps:
                print(f"early stop: no validation improvement in {args.patience} evaluations", flush=True)
                stopped_early = True
                break

    train_time = time.time() - t0
    print(f"training done: {steps_run} steps in {train_time:.1f}s"
          f"{' (stopped early)' if stopped_early else ''}; best val {best['val_loss']:.4f} "
          f"(train {best['train_loss']:.4f}) at step {best['step']}", flush=True)

    ckpt = {
        "config": cfg.to_dict(),
        "state_dict": best["state_dict"],
        "val_loss": float(best["val_loss"]),
        "train_loss": float(best["train_loss"]),
        "steps": int(best["step"]),
        "seq_len": int(seq_len),
        "tokens_seen": int(best["step"] * tokens_per_step),
        "corpus": os.path.basename(args.data),
        "split": "90/10",
        "steps_run": int(steps_run),
        "batch_size": int(args.batch_size),
        "seed": int(args.seed),
        "train_seconds": float(train_time),
    }
    out_dir = os.path.dirname(os.path.abspath(args.out))
    os.makedirs(out_dir, exist_ok=True)
    torch.save(ckpt, args.out)
    print(f"saved {args.out} (weights from step {best['step']})", flush=True)

    # Sample from the saved (best) weights.
    model.load_state_dict(best["state_dict"])
    prompt = args.sample_prompt.encode("utf-8")
    text = generate(model, prompt, args.sample_bytes, args.sample_temperature, cfg.context_length,
                    device, autocast, args.seed)
    how = "greedy" if args.sample_temperature <= 0 else f"temperature {args.sample_temperature}"
    print(f"--- sample ({args.sample_bytes} bytes, {how}) ---", flush=True)
    print((prompt + text).decode("utf-8", errors="replace"), flush=True)
    print("--- end sample ---", flush=True)


if __name__ == "__main__":
    main()
