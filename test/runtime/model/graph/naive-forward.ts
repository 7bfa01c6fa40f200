import type { ResolvedArchitecture } from '../../../../runtime/model/architecture.ts';

/**
 * A plain float64 forward pass over a whole sequence, written from Hugging Face transformers' modelling
 * code (LlamaForCausalLM, Qwen2, GPT2LMHeadModel) rather than from the graph builder: the independent
 * computation the ONNX reference graph is checked against. Loops only, no shared code with runtime/.
 */
export function naiveLogits(
  a: ResolvedArchitecture,
  weight: (name: string) => Float32Array,
  ids: readonly number[],
): Float64Array[] {
  const d = a.d_model;
  const Dh = a.head_dim;
  const rep = a.n_head / a.n_kv_head;
  let x = ids.map((id, t) => {
    const row = Float64Array.from(weight('tok_emb').subarray(id * d, (id + 1) * d));
    if (a.position === 'learned') {
      const pos = weight('pos_emb');
      for (let i = 0; i < d; i++) row[i]! += pos[t * d + i]!;
    }
    return row;
  });
  const bias = (name: string, on: boolean) => (on ? weight(name) : undefined);
  const inv = a.position === 'rope' ? hfInvFreq(a) : undefined;

  for (let l = 0; l < a.n_layer; l++) {
    const p = (n: string) => `l${l}.${n}`;
    const h = x.map((r) => normalize(a, r, p('ln1')));
    const q = h.map((r) => linear(r, weight(p('wq')), bias(p('bq'), a.qkv_bias)));
    const k = h.map((r) => linear(r, weight(p('wk')), bias(p('bk'), a.qkv_bias)));
    const v = h.map((r) => linear(r, weight(p('wv')), bias(p('bv'), a.qkv_bias)));
    if (inv) {
      q.forEach((r, t) => rotateHeads(r, a.n_head, Dh, inv, t));
      k.forEach((r, t) => rotateHeads(r, a.n_kv_head, Dh, inv, t));
    }
    const attn = q.map((qt, t) => {
      const out = new Float64Array(a.n_head * Dh);
      for (let hh = 0; hh < a.n_head; hh++) {
        const kvh = Math.floor(hh / rep); // repeat_kv: query head i reads key/value head i // n_rep
        const scores = Array.from({ length: t + 1 }, (_, s) => {
          let dot = 0;
          for (let j = 0; j < Dh; j++) dot += qt[hh * Dh + j]! * k[s]![kvh * Dh + j]!;
          return dot / Math.sqrt(Dh);
        });
        const max = Math.max(...scores);
        const e = scores.map((s) => Math.exp(s - max));
        const sum = e.reduce((u, w) => u + w, 0);
        for (let s = 0; s <= t; s++)
          for (let j = 0; j < Dh; j++) out[hh * Dh + j]! += (e[s]! / sum) * v[s]![kvh * Dh + j]!;
      }
      return out;
    });
    x = x.map((r, t) => add(r, linear(attn[t]!, weight(p('wo')), bias(p('bo'), a.o_bias))));
    const h2 = x.map((r) => normalize(a, r, p('ln2')));
    x = x.map((r, t) => add(r, mlp(a, h2[t]!, p, weight)));
  }
  const head = weight(a.tied_embeddings ? 'tok_emb' : 'lm_head');
  return x.map((r) => {
    const hf = normalize(a, r, 'ln_f');
    return Float64Array.from({ length: a.vocab_size }, (_, vv) => {
      let s = 0;
      for (let i = 0; i < d; i++) s += hf[i]! * head[vv * d + i]!;
      return s;
    });
  });

  function normalize(arch: ResolvedArchitecture, r: Float64Array, prefix: string): Float64Array {
    const w = weight(`${prefix}.w`);
    const n = r.length;
    if (arch.norm === 'rmsnorm') {
      const ms = r.reduce((s, u) => s + u * u, 0) / n;
      return r.map((u, i) => (u / Math.sqrt(ms + arch.norm_eps)) * w[i]!);
    }
    const b = weight(`${prefix}.b`);
    const mean = r.reduce((s, u) => s + u, 0) / n;
    const variance = r.reduce((s, u) => s + (u - mean) ** 2, 0) / n;
    return r.map((u, i) => ((u - mean) / Math.sqrt(variance + arch.norm_eps)) * w[i]! + b[i]!);
  }
}

/** r @ W (+ b), W stored [in, out]. */
function linear(r: Float64Array, w: Float32Array, b?: Float32Array): Float64Array {
  const n = w.length / r.length;
  const out = new Float64Array(n);
  for (let i = 0; i < r.length; i++) for (let j = 0; j < n; j++) out[j]! += r[i]! * w[i * n + j]!;
  if (b) for (let j = 0; j < n; j++) out[j]! += b[j]!;
  return out;
}

const add = (u: Float64Array, w: Float64Array) => u.map((z, i) => z + w[i]!);

function mlp(
  a: ResolvedArchitecture,
  h: Float64Array,
  p: (n: string) => string,
  weight: (name: string) => Float32Array,
): Float64Array {
  const b = (n: string) => (a.mlp_bias ? weight(p(n)) : undefined);
  if (a.mlp === 'swiglu') {
    const gate = linear(h, weight(p('w_gate')), b('b_gate'));
    const up = linear(h, weight(p('w_up')), b('b_up'));
    const act = gate.map((g, i) => (g / (1 + Math.exp(-g))) * up[i]!);
    return linear(act, weight(p('w_down')), b('b_down'));
  }
  if (a.mlp !== 'gelu_tanh') throw new Error(`naiveLogits does not implement mlp ${a.mlp}`);
  const f = linear(h, weight(p('fc1')), b('b1')).map(
    (u) => 0.5 * u * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (u + 0.044715 * u ** 3))),
  );
  return linear(f, weight(p('fc2')), b('b2'));
}

/**
 * HF's rotary inverse frequencies: base^(-2i/dim), then for rope_type llama3 the frequency-dependent
 * rescaling as transformers' _compute_llama3_parameters writes it (wavelength thresholds, torch.where).
 */
function hfInvFreq(a: ResolvedArchitecture): number[] {
  const rope = a.rope!;
  const dim = rope.dim ?? a.head_dim;
  const invFreq: number[] = [];
  for (let i = 0; i < dim; i += 2) invFreq.push(1 / Math.pow(rope.theta, i / dim));
  const s = rope.llama3;
  if (!s) return invFreq;
  const lowFreqWavelen = s.original_max_position_embeddings / s.low_freq_factor;
  const highFreqWavelen = s.original_max_position_embeddings / s.high_freq_factor;
  return invFreq.map((f) => {
    const wavelen = (2 * Math.PI) / f;
    const llama = wavelen > lowFreqWavelen ? f / s.factor : f;
    const smooth =
      (s.original_max_position_embeddings / wavelen - s.low_freq_factor) /
      (s.high_freq_factor - s.low_freq_factor);
    const smoothed = ((1 - smooth) * llama) / s.factor + smooth * llama;
    const medium = !(wavelen < highFreqWavelen) && !(wavelen > lowFreqWavelen);
    return medium ? smoothed : llama;
  });
}

/**
 * apply_rotary_pos_emb on each head of a [heads * Dh] row at position t: over the first `dim` dims,
 * x * cos + rotate_half(x) * sin with rotate_half(x) = cat(-x2, x1) and cos = cat(cos(t f), cos(t f));
 * the rest pass through (partial rotary).
 */
function rotateHeads(
  r: Float64Array,
  heads: number,
  Dh: number,
  invFreq: readonly number[],
  t: number,
): void {
  const half = invFreq.length;
  const emb = [...invFreq, ...invFreq].map((f) => t * f);
  for (let h = 0; h < heads; h++) {
    const x = r.slice(h * Dh, h * Dh + 2 * half);
    const rotated = [...x.subarray(half)].map((u) => -u).concat([...x.subarray(0, half)]);
    for (let j = 0; j < 2 * half; j++)
      r[h * Dh + j] = x[j]! * Math.cos(emb[j]!) + rotated[j]! * Math.sin(emb[j]!);
  }
}
