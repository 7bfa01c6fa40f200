#!/usr/bin/env python3
"""Tiny Hugging Face checkpoints, tokenizers, chat templates and LoRA adapters, with the goldens that
Hugging Face `transformers` computes for them: the independent reference the importer, the tokenizer, the
chat renderer and the adapter engine are tested against.

Needs torch, transformers, tokenizers, safetensors and peft (none of them at run time: only this script
uses them, on a machine that has them, such as the project's GPU host). Everything runs on the CPU in
fp32, so the goldens do not depend on a GPU's matmul precision.

    python3 runtime/model/py/make_hf_fixtures.py --corpus data/tinyshakespeare.txt \
        --real-tokenizer llama3=DIR --real-tokenizer llama2=DIR --out test/fixtures/hf

Per fixture (llama, llama3, mistral, qwen2, gpt2) OUT/NAME/ holds the checkpoint as `save_pretrained`
writes it (config.json, *.safetensors, tokenizer.json, tokenizer_config.json, generation_config.json)
and OUT/NAME/golden/: `golden.json` (prompts, their ids, greedy continuations, where each logits row
lies) and `logits.f32` (the rows, little-endian float32). OUT/tokenizers/ holds ids that the `tokenizers`
library gives for a fixed multilingual text, for the fixtures' and the real vocabularies; chat renders
are in each fixture's golden.json. OUT/NAME/adapters/ (llama only) holds PEFT LoRA adapters with the
merged model's goldens.
"""

import argparse
import json
import os
import struct
import sys
import traceback

import torch
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    GenerationConfig,
    GPT2Config,
    LlamaConfig,
    MistralConfig,
    PreTrainedTokenizerFast,
    Qwen2Config,
)
import transformers

VOCAB = 512
GREEDY_STEPS = 8

# Text a tokenizer must round-trip: Shakespeare, accents, CJK, emoji (with modifiers and ZWJ), code,
# whitespace runs and a byte the small vocabularies never saw.
MULTILINGUAL = [
    "To be, or not to be, that is the question:",
    "Whether 'tis nobler in the mind to suffer\nThe slings and arrows of outrageous fortune,",
    "Café, naïve façade; Ærøskøbing, Øresund, straße, Ελληνικά, русский текст.",
    "日本語の文章を書きます。中文测试：你好，世界！한국어 문장입니다.",
    "Emoji: 👋🏽 👨‍👩‍👧‍👦 🇫🇷 ❤️ 🤖",
    "def square(x):\n\treturn x ** 2  # power\n\nprint(square(12345))",
    "a    b\n\n\n  c\t\t d   \n   ",
    " leading space, trailing space ",
    "The year 2026 has 365 days; π ≈ 3.14159.",
]

PROMPTS = [
    "To be, or not to be",
    "ROMEO:\nBut, soft! what light through yonder window breaks?",
    "Café au lait 日本 👋",
]

CHATS = [
    {"messages": [{"role": "user", "content": "Hello, who are you?"}], "add_generation_prompt": True},
    {
        "messages": [
            {"role": "system", "content": "You speak like a sonnet."},
            {"role": "user", "content": "Describe the sea."},
            {"role": "assistant", "content": "  Grey waves that fold upon the shore.  "},
            {"role": "user", "content": "And the sky? 🌤️"},
        ],
        "add_generation_prompt": True,
    },
    {
        "messages": [
            {"role": "user", "content": "One"},
            {"role": "assistant", "content": "Two"},
            {"role": "user", "content": "Three"},
        ],
        "add_generation_prompt": False,
    },
]

LLAMA2_TEMPLATE = (
    "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}"
    "{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}"
    "{% set system_message = false %}{% endif %}{% for message in loop_messages %}"
    "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
    "{% if loop.index0 == 0 and system_message != false %}"
    "{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}"
    "{% else %}{% set content = message['content'] %}{% endif %}"
    "{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}"
    "{% elif message['role'] == 'assistant' %}{{ ' ' + content.strip() + ' ' + eos_token }}{% endif %}"
    "{% endfor %}"
)

MISTRAL_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
    "{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}"
    "{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token }}"
    "{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}"
)

LLAMA3_TEMPLATE = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}"
    "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'"
    "+ message['content'] | trim + '<|eot_id|>' %}"
    "{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}"
)

QWEN2_TEMPLATE = (
    "{%- if messages[0]['role'] == 'system' %}"
    "{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}"
    "{%- else %}"
    "{{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- for message in messages %}"
    '{%- if (message.role == "user") or (message.role == "system" and not loop.first) or (message.role == "assistant") %}'
    "{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)

LLAMA3_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
QWEN2_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)


def corpus_lines(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    # The first 90% only: the last 10% is the held-back slice quality is measured on.
    text = text[: int(len(text) * 0.9)]
    return [line for line in text.split("\n") if line] + MULTILINGUAL[:3]


def byte_level_tokenizer(lines, split_regex, specials, bos=None):
    tok = Tokenizer(models.BPE())
    if split_regex is None:
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    else:
        tok.pre_tokenizer = pre_tokenizers.Sequence(
            [
                pre_tokenizers.Split(split_regex, behavior="isolated", invert=False),
                pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
            ]
        )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(lines, trainer)
    if bos is not None:
        bos_id = tok.token_to_id(bos)
        tok.post_processor = processors.TemplateProcessing(
            single=f"{bos} $A", pair=f"{bos} $A {bos} $B", special_tokens=[(bos, bos_id)]
        )
    else:
        tok.post_processor = processors.ByteLevel(trim_offsets=False)
    return tok


def sentencepiece_tokenizer(lines, extra_specials):
    """Llama 2 / Mistral style: BPE over '▁'-marked text with byte fallback (<0xNN> tokens)."""
    specials = ["<unk>", "<s>", "</s>"] + extra_specials
    byte_tokens = [f"<0x{i:02X}>" for i in range(256)]
    tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    # Train on whitespace-split pieces so merges never span two words, as SentencePiece does.
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="never", split=True)
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB, special_tokens=specials + byte_tokens, show_progress=False, limit_alphabet=120
    )
    tok.train_from_iterator(lines, trainer)
    try:
        tok.pre_tokenizer = None
    except TypeError:
        tok.pre_tokenizer = pre_tokenizers.Sequence([])
    tok.decoder = decoders.Sequence(
        [decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(), decoders.Strip(" ", 1, 0)]
    )
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", tok.token_to_id("<s>"))]
    )
    # Byte tokens are ordinary vocabulary in Llama 2's file, not added tokens.
    return tok


def randomize(model, seed):
    """Default initialisation gives near-uniform logits; wider weights make greedy choices clear."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() >= 2:
                p.copy_(torch.randn(p.shape, generator=g) * 0.12)
            elif name.endswith("bias"):
                p.copy_(torch.randn(p.shape, generator=g) * 0.05)
            else:  # norm scales
                p.copy_(1.0 + torch.randn(p.shape, generator=g) * 0.1)


class LogitsFile:
    def __init__(self, path):
        self.f = open(path, "wb")
        self.rows = 0

    def add(self, rows):
        rows = rows.detach().to(torch.float32).contiguous()
        self.f.write(rows.numpy().astype("<f4").tobytes())
        start = self.rows
        self.rows += rows.shape[0]
        return start

    def close(self):
        self.f.close()


def goldens_for(model, tokenizer, outdir, chats=True):
    os.makedirs(outdir, exist_ok=True)
    logits_file = LogitsFile(os.path.join(outdir, "logits.f32"))
    vocab = model.config.vocab_size
    prompts = []
    model.eval()
    with torch.no_grad():
        for text in PROMPTS:
            ids = tokenizer(text).input_ids
            out = model(torch.tensor([ids])).logits[0]
            prefill_row = logits_file.add(out)
            seq = list(ids)
            steps = []
            margins = []
            last = out[-1]
            for _ in range(GREEDY_STEPS):
                top2 = torch.topk(last, 2)
                nxt = int(top2.indices[0])
                margins.append(float(top2.values[0] - top2.values[1]))
                seq.append(nxt)
                last = model(torch.tensor([seq])).logits[0, -1]
                steps.append(last)
            decode_row = logits_file.add(torch.stack(steps))
            prompts.append(
                {
                    "text": text,
                    "ids": ids,
                    "prefill_logits_row": prefill_row,
                    "greedy": seq[len(ids) :],
                    # logits after each greedy token; row k follows greedy[k]
                    "decode_logits_row": decode_row,
                    "min_top2_margin": min(margins),
                }
            )
            # The same continuation through generate() (which may stop early at an eos id), as a check on
            # the loop above.
            # The mask is explicit: generate() would otherwise mask every prompt id equal to pad_token_id.
            gen = model.generate(
                torch.tensor([ids]),
                attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                max_new_tokens=GREEDY_STEPS,
                do_sample=False,
                pad_token_id=0,
            )[0, len(ids) :].tolist()
            prompts[-1]["generate_agrees"] = gen == seq[len(ids) : len(ids) + len(gen)]
    logits_file.close()
    golden = {
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "vocab_size": vocab,
        "logits_rows": logits_file.rows,
        "prompts": prompts,
    }
    if chats:
        golden["chat"] = chat_goldens(tokenizer)
    golden["encode"] = [
        {"text": t, "ids": tokenizer(t, add_special_tokens=False).input_ids, "decoded": None}
        for t in MULTILINGUAL
    ]
    for e in golden["encode"]:
        e["decoded"] = tokenizer.decode(e["ids"])
    with open(os.path.join(outdir, "golden.json"), "w", encoding="utf-8") as f:
        json.dump(golden, f, ensure_ascii=False, indent=1)
    return golden


def chat_goldens(tokenizer):
    out = []
    if not tokenizer.chat_template:
        return out
    for chat in CHATS:
        entry = {"messages": chat["messages"], "add_generation_prompt": chat["add_generation_prompt"]}
        try:
            text = tokenizer.apply_chat_template(
                chat["messages"], tokenize=False, add_generation_prompt=chat["add_generation_prompt"]
            )
            entry["rendered"] = text
            entry["ids"] = tokenizer(text, add_special_tokens=False).input_ids
        except Exception as e:  # a template's raise_exception is a golden too
            entry["error"] = str(e)
        out.append(entry)
    return out


def save_tokenizer(tok, outdir, template, **special):
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, **special)
    if template:
        fast.chat_template = template
    fast.save_pretrained(outdir)
    return AutoTokenizer.from_pretrained(outdir)


def make_fixture(name, config, tok, template, special, outdir, seed, dtype=torch.float32, shard=None, eos_ids=None):
    d = os.path.join(outdir, name)
    os.makedirs(d, exist_ok=True)
    tokenizer = save_tokenizer(tok, d, template, **special)
    config.vocab_size = len(tokenizer)
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    randomize(model, seed)
    if dtype != torch.float32:
        # Stored in this dtype; the goldens come from the stored (rounded) weights, computed in fp32.
        model = model.to(dtype).to(torch.float32)
    save_model = model if dtype == torch.float32 else model.to(dtype)
    kwargs = {}
    if shard:
        kwargs["max_shard_size"] = shard
    save_model.save_pretrained(d, **kwargs)
    model = AutoModelForCausalLM.from_pretrained(d, dtype=torch.float32)
    gen = GenerationConfig.from_model_config(model.config)
    if eos_ids:
        gen.eos_token_id = eos_ids
    gen.save_pretrained(d)
    golden = goldens_for(model, tokenizer, os.path.join(d, "golden"))
    print(
        name,
        "params",
        sum(p.numel() for p in model.parameters()),
        "min margin",
        min(p["min_top2_margin"] for p in golden["prompts"]),
        "generate agrees",
        all(p["generate_agrees"] for p in golden["prompts"]),
        flush=True,
    )
    return model, tokenizer


def make_adapters(base_dir, model, tokenizer):
    from peft import LoraConfig, get_peft_model

    specs = [
        ("lora-r8-all", 8, 16, ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"], 11),
        ("lora-r4-qv", 4, 8, ["q_proj", "v_proj"], 12),
    ]
    for name, r, alpha, targets, seed in specs:
        base = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32)
        cfg = LoraConfig(r=r, lora_alpha=alpha, target_modules=targets, lora_dropout=0.0, bias="none")
        peft_model = get_peft_model(base, cfg)
        g = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for pname, p in peft_model.named_parameters():
                if "lora_" in pname:
                    p.copy_(torch.randn(p.shape, generator=g) * 0.1)
        d = os.path.join(base_dir, "adapters", name)
        peft_model.save_pretrained(d)
        os.remove(os.path.join(d, "README.md"))  # peft's empty model card
        merged = peft_model.merge_and_unload()
        goldens_for(merged, tokenizer, os.path.join(d, "golden"), chats=False)
        print("adapter", name, "saved", flush=True)


def real_tokenizer_goldens(name, src, outdir):
    os.makedirs(outdir, exist_ok=True)
    tk = Tokenizer.from_file(os.path.join(src, "tokenizer.json"))
    entries = []
    for text in MULTILINGUAL:
        plain = tk.encode(text, add_special_tokens=False)
        special = tk.encode(text, add_special_tokens=True)
        entries.append(
            {
                "text": text,
                "ids": plain.ids,
                "ids_with_special": special.ids,
                "decoded": tk.decode(plain.ids, skip_special_tokens=False),
            }
        )
    doc = {"tokenizers": __import__("tokenizers").__version__, "source": name, "encode": entries}
    hf = AutoTokenizer.from_pretrained(src)
    if hf.chat_template:
        doc["chat"] = chat_goldens(hf)
    with open(os.path.join(outdir, f"{name}.json"), "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)
    print("real tokenizer", name, "vocab", tk.get_vocab_size(), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--real-tokenizer", action="append", default=[], help="NAME=DIR with tokenizer.json")
    a = ap.parse_args()
    torch.set_num_threads(min(8, os.cpu_count() or 1))
    lines = corpus_lines(a.corpus)
    failures = []

    def attempt(label, fn):
        try:
            fn()
        except Exception:
            failures.append(label)
            traceback.print_exc()

    # Small enough to commit (the fixtures travel with the repository), wide enough for GQA and RoPE.
    common = dict(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        rms_norm_eps=1e-5,
    )
    state = {}

    def llama():
        tok = sentencepiece_tokenizer(lines, [])
        cfg = LlamaConfig(**common, rope_theta=10000.0, tie_word_embeddings=False, bos_token_id=1, eos_token_id=2)
        special = dict(bos_token="<s>", eos_token="</s>", unk_token="<unk>")
        state["llama"] = make_fixture("llama", cfg, tok, LLAMA2_TEMPLATE, special, a.out, 1)

    def llama3():
        specials = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]
        tok = byte_level_tokenizer(lines, LLAMA3_SPLIT, specials, bos="<|begin_of_text|>")
        ids = {s: tok.token_to_id(s) for s in specials}
        cfg = LlamaConfig(
            **common,
            rope_theta=500000.0,
            rope_scaling={
                "rope_type": "llama3",
                "factor": 8.0,
                "low_freq_factor": 1.0,
                "high_freq_factor": 4.0,
                "original_max_position_embeddings": 256,
            },
            tie_word_embeddings=True,
            bos_token_id=ids["<|begin_of_text|>"],
            eos_token_id=[ids["<|end_of_text|>"], ids["<|eot_id|>"]],
        )
        special = dict(bos_token="<|begin_of_text|>", eos_token="<|eot_id|>")
        # bf16 on disk, as Llama 3 checkpoints ship: the importer converts it.
        make_fixture("llama3", cfg, tok, LLAMA3_TEMPLATE, special, a.out, 2, dtype=torch.bfloat16)

    def mistral():
        tok = sentencepiece_tokenizer(lines, ["[INST]", "[/INST]"])
        cfg = MistralConfig(**common, rope_theta=1000000.0, sliding_window=None, bos_token_id=1, eos_token_id=2)
        special = dict(bos_token="<s>", eos_token="</s>", unk_token="<unk>")
        # Sharded with model.safetensors.index.json, as larger checkpoints ship.
        make_fixture("mistral", cfg, tok, MISTRAL_TEMPLATE, special, a.out, 3, shard="100KB")

    def qwen2():
        specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
        tok = byte_level_tokenizer(lines, QWEN2_SPLIT, specials)
        ids = {s: tok.token_to_id(s) for s in specials}
        cfg = Qwen2Config(
            **common,
            rope_theta=1000000.0,
            tie_word_embeddings=True,
            use_sliding_window=False,
            bos_token_id=ids["<|endoftext|>"],
            eos_token_id=ids["<|im_end|>"],
        )
        special = dict(eos_token="<|im_end|>", pad_token="<|endoftext|>")
        eos_ids = [ids["<|im_end|>"], ids["<|endoftext|>"]]
        make_fixture("qwen2", cfg, tok, QWEN2_TEMPLATE, special, a.out, 4, eos_ids=eos_ids)

    def gpt2():
        tok = byte_level_tokenizer(lines, None, ["<|endoftext|>"])
        eot = tok.token_to_id("<|endoftext|>")
        cfg = GPT2Config(
            n_positions=256,
            n_embd=32,
            n_layer=2,
            n_head=4,
            activation_function="gelu_new",
            layer_norm_epsilon=1e-5,
            bos_token_id=eot,
            eos_token_id=eot,
        )
        special = dict(bos_token="<|endoftext|>", eos_token="<|endoftext|>", unk_token="<|endoftext|>")
        make_fixture("gpt2", cfg, tok, None, special, a.out, 5)

    for label, fn in [("llama", llama), ("llama3", llama3), ("mistral", mistral), ("qwen2", qwen2), ("gpt2", gpt2)]:
        attempt(label, fn)
    if "llama" in state:
        attempt("adapters", lambda: make_adapters(os.path.join(a.out, "llama"), *state["llama"]))
    for spec in a.real_tokenizer:
        name, src = spec.split("=", 1)
        attempt(f"tokenizer {name}", lambda: real_tokenizer_goldens(name, src, os.path.join(a.out, "tokenizers")))
    print("failures:", failures or "none", flush=True)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
