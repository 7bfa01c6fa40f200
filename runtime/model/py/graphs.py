"""The three ONNX graphs of a warmgate model, all reading one shared weights file.

engine.onnx: the contract the runtime engine runs every step (paged KV cache).
  One step computes T new tokens of any mix of sequences (prefill chunks and decodes, flattened).
  Keys and values of earlier tokens live in a pool that the engine owns, in tiles of TS token slots
  (a tile is a few allocation blocks; the graph only sees tiles). Each layer's pool is an input, read in
  place (no copy): k_cache_l [N, KVH, Dh, TS] (keys stored transposed, so scores are one MatMul with no
  Transpose), v_cache_l [N, KVH, TS, Dh]. Attention of each new token is the log-sum-exp merge of:
   1. direct:   every pool tile n attends with the one decode token that owns it (direct_owner[n], a
                row of direct_query). No gather: the pool itself is the operand, so a decode step costs
                about what a contiguous cache costs (BENCHMARKS.md, paged_vs_contiguous). Per-row
                partial results are combined with a one-hot product (direct_seg), not a scatter.
   2. gathered: a prefill chunk's past tiles, gathered per group of query rows (a copy, amortised
                over the chunk's many query tokens).
   4. shared:   tiles a decode reads but does not own (prefix blocks shared in the same step, tiles two
                sequences ended up in), gathered per decode token: a group of one row, so decodes never
                pad to a prefill chunk's rows.
   3. new:      this step's tokens attend to each other (same sequence, causal) through new_mask.
  Masks say which columns of a tile belong to the reader. Outputs: logits only for the rows in
  logits_index (positions that sample), and the new keys and values [L, T, KVH, Dh], which the engine
  writes into the pool itself. Returning only the new entries keeps the output copy proportional to T.

  engine.onnx holds two versions of this step behind an If on decode_only: the full one above, and one
  for the commonest step, where every token is a decode that owns all its tiles (the steady state of a
  decode batch): the direct part and one dot product for the token's own key, half the nodes.

reference.onnx: plain causal attention over a whole sequence, no cache: the independent reference the
  tests compare the paged path against.

decode_contiguous.onnx: one decode token per sequence against a contiguous per-sequence cache
  ([B, KVH, Dh, P] keys, [B, KVH, P, Dh] values, read in place): the baseline of the paged-vs-contiguous
  benchmark, built from the same ops so the comparison isolates the cache layout.
"""

from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper

from onnx_builder import NEG, Graph, WeightFile

F, I = TensorProto.FLOAT, TensorProto.INT64


def weight_names(n_layer: int) -> list[str]:
    names = ["tok_emb", "pos_emb", "ln_f.w", "ln_f.b"]
    for l in range(n_layer):
        names += [f"l{l}.{n}" for n in ("ln1.w", "ln1.b", "wq", "wk", "wv", "wo", "ln2.w", "ln2.b", "fc1", "fc2")]
    return names


def add_weights(wf: WeightFile, state: dict, n_layer: int) -> None:
    """torch state_dict -> weight file; Linear weights stored [in, out] so every graph uses x @ W."""
    s = {k: v.detach().float().cpu().numpy() for k, v in state.items()}
    wf.add("tok_emb", s["tok.weight"])
    wf.add("pos_emb", s["pos.weight"])
    wf.add("ln_f.w", s["ln_f.weight"])
    wf.add("ln_f.b", s["ln_f.bias"])
    for l in range(n_layer):
        p = f"blocks.{l}."
        wf.add(f"l{l}.ln1.w", s[p + "ln1.weight"])
        wf.add(f"l{l}.ln1.b", s[p + "ln1.bias"])
        for n in ("wq", "wk", "wv", "wo"):
            wf.add(f"l{l}.{n}", s[p + f"attn.{n}.weight"].T)
        wf.add(f"l{l}.ln2.w", s[p + "ln2.weight"])
        wf.add(f"l{l}.ln2.b", s[p + "ln2.bias"])
        wf.add(f"l{l}.fc1", s[p + "fc1.weight"].T)
        wf.add(f"l{l}.fc2", s[p + "fc2.weight"].T)


def _attach(g: Graph, wf: WeightFile, n_layer: int) -> None:
    for name in weight_names(n_layer):
        g.external(name, wf.tensor(name))


def _mlp(g: Graph, x: str, l: int, eps: float) -> str:
    h = g.layer_norm(x, f"l{l}.ln2.w", f"l{l}.ln2.b", eps)
    return g.op("Add", x, g.matmul(g.gelu(g.matmul(h, f"l{l}.fc1")), f"l{l}.fc2"))


def _lse_merge(g: Graph, parts: list[tuple[str, str, str]]) -> str:
    """Merge partial softmax attentions (max, sum of exp, weighted values) into the normalised output."""
    m = g.op("Max", *[p[0] for p in parts])
    total_l, total_a = None, None
    for pm, pl, pa in parts:
        f = g.op("Exp", g.op("Sub", pm, m))
        l_i, a_i = g.op("Mul", pl, f), g.op("Mul", pa, f)
        total_l = l_i if total_l is None else g.op("Add", total_l, l_i)
        total_a = a_i if total_a is None else g.op("Add", total_a, a_i)
    return g.op("Div", total_a, total_l)


def _qkv(g: Graph, x: str, l: int, scale: str, dims: tuple[int, int, int], eps: float,
         new_keys: list[str], new_values: list[str]) -> tuple[str, str, str]:
    """Layer l's queries [T,KVH,G,Dh] (pre-scaled), keys and values [T,KVH,Dh]; records the new K/V."""
    KVH, G, Dh = dims
    h = g.layer_norm(x, f"l{l}.ln1.w", f"l{l}.ln1.b", eps)
    q = g.reshape(g.op("Mul", g.matmul(h, f"l{l}.wq"), scale), [-1, KVH, G, Dh])
    k = g.reshape(g.matmul(h, f"l{l}.wk"), [-1, KVH, Dh])
    v = g.reshape(g.matmul(h, f"l{l}.wv"), [-1, KVH, Dh])
    new_keys.append(g.op("Unsqueeze", k, g.const([0])))
    new_values.append(g.op("Unsqueeze", v, g.const([0])))
    return q, k, v


def _outputs(g: Graph, hidden: str, new_keys: list[str], new_values: list[str], rows: str, cfg: dict) -> None:
    """Logits of the given hidden rows (tied embedding) and the step's new keys and values."""
    L, KVH, Dh, V = (cfg[k] for k in ("n_layer", "n_kv_head", "head_dim", "vocab_size"))
    g.op("Gemm", hidden, "tok_emb", transB=1, name="logits")
    g.op("Concat", *new_keys, axis=0, name="new_keys")
    g.op("Concat", *new_values, axis=0, name="new_values")
    g.output("logits", F, [rows, V])
    g.output("new_keys", F, [L, "T" if rows == "R" else rows, KVH, Dh])
    g.output("new_values", F, [L, "T" if rows == "R" else rows, KVH, Dh])


def _owned_bias(g: Graph, seg: str) -> str:
    """[rows,1,N]: 0 where the row owns the tile, -inf elsewhere; the same for every layer."""
    bias = g.op("Mul", g.op("Sub", seg, g.const(1.0, np.float32)), g.const(-NEG, np.float32))
    return g.op("Unsqueeze", bias, g.const([1]))


def _direct_part(g: Graph, q_rows: str, k_cache: str, v_cache: str, owner: str, mask: str, seg: str,
                 owned_bias: str, dims: tuple[int, int, int], sink: bool = True) -> tuple[str, str, str]:
    """Tiles read in place, each with the query row that owns it (owner[n] in [0, rows], rows = none).

    Returns per row (max [rows,KVH*G], sum of exp [rows,KVH*G], weighted values [rows,KVH*G*Dh]).
    Per-tile partials combine per row through the one-hot seg [rows,N]: rows are at most the decode
    batch, so these are small dense products, far faster in ONNX Runtime than a ScatterElements reduction.
    """
    KVH, G, Dh = dims
    q_rows = g.op("Concat", q_rows, g.const(np.zeros((1, KVH, G, Dh)), np.float32), axis=0)  # [rows+1,...]
    qd = g.op("Gather", q_rows, owner, axis=0)  # [N,KVH,G,Dh]
    s = g.op("Add", g.matmul(qd, k_cache), mask)  # [N,KVH,G,TS]
    bmax = g.reduce_max(s, 3)  # [N,KVH,G,1]
    e = g.op("Exp", g.op("Sub", s, bmax))
    bsum = g.reshape(g.reduce_sum(e, 3), [0, KVH * G])  # [N,KVH*G]
    pv = g.matmul(e, v_cache)  # [N,KVH,G,Dh]
    bmax2 = g.reshape(bmax, [0, KVH * G])
    scores = g.op("Add", owned_bias, g.transpose(bmax2, [1, 0]))  # [rows,KVH*G,N]
    m_rows = g.op("ReduceMax", scores, g.const([2]), keepdims=0)  # [rows,KVH*G]
    m_sink = g.op("Concat", m_rows, g.const(np.full((1, KVH * G), NEG), np.float32), axis=0)
    f = g.op("Exp", g.op("Sub", bmax2, g.op("Gather", m_sink, owner, axis=0)))  # [N,KVH*G]
    l_rows = g.matmul(seg, g.op("Mul", bsum, f))
    a_rows = g.matmul(seg, g.reshape(g.op("Mul", pv, g.reshape(f, [0, KVH, G, 1])), [0, KVH * G * Dh]))
    return m_rows, l_rows, a_rows


def _gathered_part(g: Graph, q_pad: str, k_cache: str, v_cache: str, tiles: str, mask: str, query: str,
                   token_row: str, sinks: tuple[str, str, str], dims: tuple[int, int, int]) -> tuple[str, str, str]:
    """Groups of query rows, each over its own gathered tiles; results mapped back to token rows."""
    KVH, G, Dh = dims
    kg = g.op("Gather", k_cache, tiles, axis=0)  # [S,MB,KVH,Dh,TS]
    kg = g.reshape(g.transpose(kg, [0, 2, 3, 1, 4]), [0, 0, 0, -1])  # [S,KVH,Dh,MB*TS]
    vg = g.op("Gather", v_cache, tiles, axis=0)  # [S,MB,KVH,TS,Dh]
    vg = g.reshape(g.transpose(vg, [0, 2, 1, 3, 4]), [0, 0, -1, Dh])  # [S,KVH,MB*TS,Dh]
    qg = g.op("Gather", q_pad, query, axis=0)  # [S,QM,KVH,G,Dh]
    qg_shape = g.op("Shape", qg)
    qg = g.reshape(g.transpose(qg, [0, 2, 1, 3, 4]), [0, 0, -1, Dh])  # [S,KVH,QM*G,Dh]
    s = g.op("Add", g.matmul(qg, kg), mask)
    gmax = g.reduce_max(s, 3)
    e = g.op("Exp", g.op("Sub", s, gmax))
    gsum = g.reduce_sum(e, 3)
    pvg = g.matmul(e, vg)  # [S,KVH,QM*G,Dh]

    def to_tokens(t: str, sink: str, last: int) -> str:
        # [S,KVH,QM*G,last] -> [S*QM,KVH,G,last], plus the sink row, then one row per token
        shape = g.op("Concat", g.op("Slice", qg_shape, g.const([0]), g.const([1])), g.const([KVH]),
                     g.op("Slice", qg_shape, g.const([1]), g.const([2])), g.const([G, last]), axis=0)
        rows = g.reshape(g.transpose(g.op("Reshape", t, shape), [0, 2, 1, 3, 4]), [-1, KVH, G, last])
        return g.op("Gather", g.op("Concat", rows, sink, axis=0), token_row, axis=0)

    return to_tokens(gmax, sinks[0], 1), to_tokens(gsum, sinks[1], 1), to_tokens(pvg, sinks[2], Dh)


def engine_graph(cfg: dict, wf: WeightFile) -> Graph:
    """engine.onnx: an If on decode_only picks the decode-only step or the full step. One session holds
    both, so the weights, their prepacked copies and the memory arena exist once, not twice."""
    L, KVH, Dh, V = (cfg[k] for k in ("n_layer", "n_kv_head", "head_dim", "vocab_size"))
    g = Graph("warmgate_engine")
    g.input("decode_only", TensorProto.BOOL, [1])
    full = full_step_graph(cfg, wf, Graph("full_step", prefix="full/", subgraph=True))
    g.inputs = [*g.inputs, *full.inputs]  # the full step reads every input the decode step does
    _attach(g, wf, L)
    decode = decode_step_graph(cfg, wf, Graph("decode_step", prefix="decode/", subgraph=True))
    outputs = ["logits", "new_keys", "new_values"]
    g.nodes.append(helper.make_node("If", ["decode_only"], outputs, then_branch=decode.as_subgraph(),
                                    else_branch=full.as_subgraph()))
    g.output("logits", F, ["R", V])
    g.output("new_keys", F, [L, "T", KVH, Dh])
    g.output("new_values", F, [L, "T", KVH, Dh])
    return g


def full_step_graph(cfg: dict, wf: WeightFile, g: Graph) -> Graph:
    L, d, H, KVH, Dh, V = (cfg[k] for k in ("n_layer", "d_model", "n_head", "n_kv_head", "head_dim", "vocab_size"))
    G, eps = H // KVH, cfg["norm_eps"]
    ids = g.input("input_ids", I, ["T"])
    pos = g.input("positions", I, ["T"])
    k_cache = [g.input(f"k_cache_{l}", F, ["N", KVH, Dh, "BS"]) for l in range(L)]
    v_cache = [g.input(f"v_cache_{l}", F, ["N", KVH, "BS", Dh]) for l in range(L)]
    d_query = g.input("direct_query", I, ["Qd"])
    d_owner = g.input("direct_owner", I, ["N"])
    d_mask = g.input("direct_mask", F, ["N", 1, 1, "BS"])
    d_seg = g.input("direct_seg", F, ["Qd", "N"])
    t_direct = g.input("token_direct_row", I, ["T"])
    g_blocks = g.input("gather_blocks", I, ["S", "MB"])
    g_mask = g.input("gather_mask", F, ["S", 1, 1, "MBxBS"])
    g_query = g.input("gather_query", I, ["S", "QM"])
    t_gather = g.input("token_gather_row", I, ["T"])
    s_blocks = g.input("shared_blocks", I, ["Ss", "MBs"])
    s_mask = g.input("shared_mask", F, ["Ss", 1, 1, "MBsxTS"])
    s_query = g.input("shared_query", I, ["Ss", 1])
    t_shared = g.input("token_shared_row", I, ["T"])
    n_mask = g.input("new_mask", F, ["T", "T"])
    logits_index = g.input("logits_index", I, ["R"])
    _attach(g, wf, L)

    x = g.op("Add", g.op("Gather", "tok_emb", ids, axis=0), g.op("Gather", "pos_emb", pos, axis=0))
    scale = g.const(1.0 / np.sqrt(Dh), np.float32)
    q_pad_row = g.const(np.zeros((1, KVH, G, Dh)), np.float32)
    # Sink rows: index Qd (direct) and S*QM (gathered) mean "none"; they carry an empty partial
    # (max -inf, sum 0, values 0) that the log-sum-exp merge ignores.
    sink_m = g.const(np.full((1, KVH, G, 1), NEG), np.float32)
    sink_l = g.const(np.zeros((1, KVH, G, 1)), np.float32)
    sink_a = g.const(np.zeros((1, KVH, G, Dh)), np.float32)
    dims = (KVH, G, Dh)
    owned = _owned_bias(g, d_seg)
    t_len = g.op("Shape", ids)
    new_keys, new_values = [], []
    for l in range(L):
        q, k, v = _qkv(g, x, l, scale, (KVH, G, Dh), eps, new_keys, new_values)
        q_pad = g.op("Concat", q, q_pad_row, axis=0)  # [T+1,KVH,G,Dh]

        # 1. direct: pool tiles in place, one query row each; rows are this step's decode tokens.
        qd = g.op("Gather", q, d_query, axis=0)  # [Qd,KVH,G,Dh]
        m_rows, l_rows, a_rows = _direct_part(g, qd, k_cache[l], v_cache[l], d_owner, d_mask, d_seg, owned, dims)

        def direct_to_tokens(rows: str, sink: str, last: int) -> str:
            rows = g.op("Concat", g.reshape(rows, [-1, KVH, G, last]), sink, axis=0)
            return g.op("Gather", rows, t_direct, axis=0)  # [T,KVH,G,last]

        m1 = direct_to_tokens(m_rows, sink_m, 1)
        l1 = direct_to_tokens(l_rows, sink_l, 1)
        a1 = direct_to_tokens(a_rows, sink_a, Dh)

        # 2. gathered: copied tiles, a group of query rows each. Prefill chunks (many rows) and decodes
        # reading tiles they do not own (one row) are separate groups, so neither pads to the other.
        sinks = (sink_m, sink_l, sink_a)
        m2, l2, a2 = _gathered_part(g, q_pad, k_cache[l], v_cache[l], g_blocks, g_mask, g_query, t_gather, sinks, dims)
        m4, l4, a4 = _gathered_part(g, q_pad, k_cache[l], v_cache[l], s_blocks, s_mask, s_query, t_shared, sinks, dims)

        # 3. new: this step's tokens among themselves.
        qn = g.reshape(g.transpose(q, [1, 0, 2, 3]), [KVH, -1, Dh])  # [KVH,T*G,Dh]
        kn = g.transpose(k, [1, 2, 0])  # [KVH,Dh,T]
        vn = g.transpose(v, [1, 0, 2])  # [KVH,T,Dh]
        s = g.op("Reshape", g.matmul(qn, kn), g.op("Concat", g.const([KVH]), t_len, g.const([G]), t_len, axis=0))
        s = g.op("Add", s, g.op("Unsqueeze", n_mask, g.const([0, 2])))  # [KVH,T,G,T]
        nmax = g.reduce_max(s, 3)
        e = g.op("Exp", g.op("Sub", s, nmax))
        nsum = g.reduce_sum(e, 3)
        e = g.op("Reshape", e, g.op("Concat", g.const([KVH, -1]), t_len, axis=0))  # [KVH,T*G,T]
        pvn = g.matmul(e, vn)  # [KVH,T*G,Dh]
        pvn = g.transpose(g.reshape(pvn, [KVH, -1, G, Dh]), [1, 0, 2, 3])
        m3, l3 = g.transpose(nmax, [1, 0, 2, 3]), g.transpose(nsum, [1, 0, 2, 3])

        out = _lse_merge(g, [(m1, l1, a1), (m2, l2, a2), (m4, l4, a4), (m3, l3, pvn)])
        x = g.op("Add", x, g.matmul(g.reshape(out, [-1, H * Dh]), f"l{l}.wo"))
        x = _mlp(g, x, l, eps)

    hidden = g.op("Gather", x, logits_index, axis=0)
    hidden = g.layer_norm(hidden, "ln_f.w", "ln_f.b", eps)
    _outputs(g, hidden, new_keys, new_values, "R", cfg)
    return g


def decode_step_graph(cfg: dict, wf: WeightFile, g: Graph) -> Graph:
    """engine.onnx's decode_only branch: the commonest step, every token a decode that owns all its tiles.

    The runner sets decode_only when a step has no prefill and no gathered tile; then direct rows are the
    tokens themselves and a token's attention to its own new key is one dot product: about half the
    nodes of the full step, which is most of a decode step's cost on CPU at small batch.
    """
    L, H, KVH, Dh, V = (cfg[k] for k in ("n_layer", "n_head", "n_kv_head", "head_dim", "vocab_size"))
    G, eps = H // KVH, cfg["norm_eps"]
    ids = g.input("input_ids", I, ["T"])
    pos = g.input("positions", I, ["T"])
    k_cache = [g.input(f"k_cache_{l}", F, ["N", KVH, Dh, "TS"]) for l in range(L)]
    v_cache = [g.input(f"v_cache_{l}", F, ["N", KVH, "TS", Dh]) for l in range(L)]
    d_owner = g.input("direct_owner", I, ["N"])
    d_mask = g.input("direct_mask", F, ["N", 1, 1, "TS"])
    d_seg = g.input("direct_seg", F, ["T", "N"])
    logits_index = g.input("logits_index", I, ["R"])
    _attach(g, wf, L)
    x = g.op("Add", g.op("Gather", "tok_emb", ids, axis=0), g.op("Gather", "pos_emb", pos, axis=0))
    scale = g.const(1.0 / np.sqrt(Dh), np.float32)
    owned = _owned_bias(g, d_seg)
    new_keys, new_values = [], []
    for l in range(L):
        q, k, v = _qkv(g, x, l, scale, (KVH, G, Dh), eps, new_keys, new_values)
        m_rows, l_rows, a_rows = _direct_part(g, q, k_cache[l], v_cache[l], d_owner, d_mask, d_seg, owned, (KVH, G, Dh))
        m_past = g.reshape(m_rows, [-1, KVH, G, 1])
        # The token's own key: score q.k, weight 1 at its own scale; merged with the past by log-sum-exp.
        self_s = g.reduce_sum(g.op("Mul", q, g.op("Unsqueeze", k, g.const([2]))), 3)  # [T,KVH,G,1]
        m = g.op("Max", m_past, self_s)
        f_past = g.op("Exp", g.op("Sub", m_past, m))
        f_self = g.op("Exp", g.op("Sub", self_s, m))
        num = g.op("Add", g.op("Mul", g.reshape(a_rows, [-1, KVH, G, Dh]), f_past),
                   g.op("Mul", g.op("Unsqueeze", v, g.const([2])), f_self))
        den = g.op("Add", g.op("Mul", g.reshape(l_rows, [-1, KVH, G, 1]), f_past), f_self)
        out = g.op("Div", num, den)
        x = g.op("Add", x, g.matmul(g.reshape(out, [-1, H * Dh]), f"l{l}.wo"))
        x = _mlp(g, x, l, eps)
    hidden = g.layer_norm(g.op("Gather", x, logits_index, axis=0), "ln_f.w", "ln_f.b", eps)
    _outputs(g, hidden, new_keys, new_values, "R", cfg)
    return g


def reference_graph(cfg: dict, wf: WeightFile) -> Graph:
    """Full recompute: input_ids [T] -> logits [T, V], textbook causal attention with repeated KV heads."""
    L, H, KVH, Dh, V = (cfg[k] for k in ("n_layer", "n_head", "n_kv_head", "head_dim", "vocab_size"))
    G, eps = H // KVH, cfg["norm_eps"]
    g = Graph("warmgate_reference")
    ids = g.input("input_ids", I, ["T"])
    _attach(g, wf, L)
    t_len = g.op("Shape", ids)
    pos = g.op("Range", g.const(0), g.op("Squeeze", t_len), g.const(1))
    x = g.op("Add", g.op("Gather", "tok_emb", ids, axis=0), g.op("Gather", "pos_emb", pos, axis=0))
    ones = g.op("Expand", g.const(1.0, np.float32), g.op("Concat", t_len, t_len, axis=0))
    causal = g.op("Trilu", ones, upper=0)
    mask = g.op("Mul", g.op("Sub", g.const(1.0, np.float32), causal), g.const(NEG, np.float32))  # [T,T]
    for l in range(L):
        h = g.layer_norm(x, f"l{l}.ln1.w", f"l{l}.ln1.b", eps)
        q = g.transpose(g.reshape(g.matmul(h, f"l{l}.wq"), [-1, H, Dh]), [1, 0, 2])  # [H,T,Dh]
        k = g.transpose(g.reshape(g.matmul(h, f"l{l}.wk"), [-1, KVH, Dh]), [1, 0, 2])  # [KVH,T,Dh]
        v = g.transpose(g.reshape(g.matmul(h, f"l{l}.wv"), [-1, KVH, Dh]), [1, 0, 2])
        # repeat each KV head G times: [KVH,T,Dh] -> [KVH,G,T,Dh] -> [H,T,Dh]
        rep = g.op("Concat", g.const([KVH, G]), t_len, g.const([Dh]), axis=0)
        k = g.reshape(g.op("Expand", g.op("Unsqueeze", k, g.const([1])), rep), [H, -1, Dh])
        v = g.reshape(g.op("Expand", g.op("Unsqueeze", v, g.const([1])), rep), [H, -1, Dh])
        s = g.op("Div", g.matmul(q, g.transpose(k, [0, 2, 1])), g.const(np.sqrt(Dh), np.float32))
        p = g.op("Softmax", g.op("Add", s, mask), axis=-1)
        y = g.reshape(g.transpose(g.matmul(p, v), [1, 0, 2]), [-1, H * Dh])
        x = g.op("Add", x, g.matmul(y, f"l{l}.wo"))
        x = _mlp(g, x, l, eps)
    x = g.layer_norm(x, "ln_f.w", "ln_f.b", eps)
    g.op("Gemm", x, "tok_emb", transB=1, name="logits")
    g.output("logits", F, ["T", V])
    return g


def decode_contiguous_graph(cfg: dict, wf: WeightFile) -> Graph:
    """Benchmark baseline: one new token per sequence, past keys/values contiguous per sequence."""
    L, d, H, KVH, Dh, V = (cfg[k] for k in ("n_layer", "d_model", "n_head", "n_kv_head", "head_dim", "vocab_size"))
    G, eps = H // KVH, cfg["norm_eps"]
    g = Graph("warmgate_decode_contiguous")
    ids = g.input("input_ids", I, ["B"])
    pos = g.input("positions", I, ["B"])
    k_past = [g.input(f"k_past_{l}", F, ["B", KVH, Dh, "P"]) for l in range(L)]
    v_past = [g.input(f"v_past_{l}", F, ["B", KVH, "P", Dh]) for l in range(L)]
    p_mask = g.input("past_mask", F, ["B", 1, 1, "P"])
    _attach(g, wf, L)
    x = g.op("Add", g.op("Gather", "tok_emb", ids, axis=0), g.op("Gather", "pos_emb", pos, axis=0))
    scale = g.const(1.0 / np.sqrt(Dh), np.float32)
    new_keys, new_values = [], []
    for l in range(L):
        q, k, v = _qkv(g, x, l, scale, (KVH, G, Dh), eps, new_keys, new_values)
        s = g.op("Add", g.matmul(q, k_past[l]), p_mask)  # [B,KVH,G,P]
        m1 = g.reduce_max(s, 3)
        e = g.op("Exp", g.op("Sub", s, m1))
        part_past = (m1, g.reduce_sum(e, 3), g.matmul(e, v_past[l]))
        # the token with itself: score q.k, weight 1 at its own max
        self_s = g.reduce_sum(g.op("Mul", q, g.op("Unsqueeze", k, g.const([2]))), 3)  # [B,KVH,G,1]
        ones = g.op("Expand", g.const(1.0, np.float32), g.op("Shape", self_s))
        part_self = (self_s, ones, g.op("Mul", ones, g.op("Unsqueeze", v, g.const([2]))))
        out = _lse_merge(g, [part_past, part_self])
        x = g.op("Add", x, g.matmul(g.reshape(out, [-1, H * Dh]), f"l{l}.wo"))
        x = _mlp(g, x, l, eps)
    _outputs(g, g.layer_norm(x, "ln_f.w", "ln_f.b", eps), new_keys, new_values, "B", cfg)
    return g
