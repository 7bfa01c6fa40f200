import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Architecture } from '../../../../runtime/model/architecture.ts';
import { packedWeightIndex, type WeightIndex } from '../../../../runtime/model/graph/index.ts';
import { resolveArchitecture } from '../../../../runtime/model/architecture.ts';

/**
 * The least a test needs to run a Hugging Face checkpoint of test/fixtures/hf through buildGraphs: read
 * its safetensors (F32 or BF16), map config.json to an Architecture and the tensors to warmgate's names
 * and layouts. A stand-in for the real importer, only as wide as the fixtures.
 */

interface HfConfig {
  model_type: string;
  vocab_size: number;
  hidden_size?: number;
  n_embd?: number;
  num_hidden_layers?: number;
  n_layer?: number;
  num_attention_heads?: number;
  n_head?: number;
  num_key_value_heads?: number;
  head_dim?: number;
  intermediate_size?: number;
  n_inner?: number | null;
  max_position_embeddings?: number;
  n_positions?: number;
  rms_norm_eps?: number;
  layer_norm_epsilon?: number;
  rope_parameters?: { rope_theta: number; rope_type: string } & Record<string, number | string>;
  attention_bias?: boolean;
  mlp_bias?: boolean;
  tie_word_embeddings?: boolean;
}

type Tensors = Map<string, { shape: number[]; data: Float32Array }>;

async function readSafetensors(dir: string): Promise<Tensors> {
  const tensors: Tensors = new Map();
  for (const file of (await readdir(dir)).filter((f) => f.endsWith('.safetensors'))) {
    const bytes = await readFile(join(dir, file));
    const headerLength = Number(bytes.readBigUInt64LE(0));
    const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8')) as Record<
      string,
      { dtype: string; shape: number[]; data_offsets: [number, number] }
    >;
    const base = 8 + headerLength;
    for (const [name, t] of Object.entries(header)) {
      if (name === '__metadata__') continue;
      const raw = bytes.subarray(base + t.data_offsets[0], base + t.data_offsets[1]);
      let data: Float32Array;
      if (t.dtype === 'F32') data = new Float32Array(Uint8Array.from(raw).buffer);
      else if (t.dtype === 'BF16') {
        // bfloat16 is the top half of a float32: widening is exact.
        const halves = new Uint16Array(Uint8Array.from(raw).buffer);
        data = new Float32Array(new Uint32Array(Array.from(halves, (h) => h << 16)).buffer);
      } else throw new Error(`${file}: ${name} is ${t.dtype}, this test reads F32 and BF16`);
      tensors.set(name, { shape: t.shape, data });
    }
  }
  return tensors;
}

function architecture(c: HfConfig): Architecture {
  if (c.model_type === 'gpt2') {
    const d = c.n_embd!;
    return {
      type: 'decoder-only-transformer',
      vocab_size: c.vocab_size,
      context_length: c.n_positions!,
      d_model: d,
      n_layer: c.n_layer!,
      n_head: c.n_head!,
      n_kv_head: c.n_head!,
      head_dim: d / c.n_head!,
      d_ff: c.n_inner ?? 4 * d,
      norm_eps: c.layer_norm_epsilon!,
      mlp: 'gelu_tanh',
      qkv_bias: true,
      o_bias: true,
      mlp_bias: true,
    };
  }
  const rope = c.rope_parameters!;
  return {
    type: 'decoder-only-transformer',
    vocab_size: c.vocab_size,
    context_length: c.max_position_embeddings!,
    d_model: c.hidden_size!,
    n_layer: c.num_hidden_layers!,
    n_head: c.num_attention_heads!,
    n_kv_head: c.num_key_value_heads!,
    head_dim: c.head_dim ?? c.hidden_size! / c.num_attention_heads!,
    d_ff: c.intermediate_size!,
    norm_eps: c.rms_norm_eps!,
    norm: 'rmsnorm',
    position: 'rope',
    rope: {
      theta: rope.rope_theta,
      ...(rope.rope_type === 'llama3' && {
        llama3: {
          factor: rope.factor as number,
          low_freq_factor: rope.low_freq_factor as number,
          high_freq_factor: rope.high_freq_factor as number,
          original_max_position_embeddings: rope.original_max_position_embeddings as number,
        },
      }),
    },
    mlp: 'swiglu',
    qkv_bias: c.model_type === 'qwen2' || (c.attention_bias ?? false),
    o_bias: c.attention_bias ?? false,
    mlp_bias: c.mlp_bias ?? false,
    tied_embeddings: c.tie_word_embeddings ?? true,
  };
}

/** [rows, cols] -> [cols, rows] (HF's Linear is [out, in]; warmgate stores [in, out]). */
function transpose(t: { shape: number[]; data: Float32Array }): Float32Array {
  const [rows, cols] = t.shape as [number, number];
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = t.data[r * cols + c]!;
  return out;
}

/** Columns [from, from + n) of a [rows, cols] matrix (GPT-2's fused c_attn holds q, k and v side by side). */
function columns(t: { shape: number[]; data: Float32Array }, from: number, n: number): Float32Array {
  const [rows, cols] = t.shape as [number, number];
  const out = new Float32Array(rows * n);
  for (let r = 0; r < rows; r++) out.set(t.data.subarray(r * cols + from, r * cols + from + n), r * n);
  return out;
}

function warmgateTensors(c: HfConfig, a: Architecture, hf: Tensors): Map<string, Float32Array> {
  const get = (name: string) => {
    const t = hf.get(name);
    if (!t) throw new Error(`checkpoint has no ${name}`);
    return t;
  };
  const out = new Map<string, Float32Array>();
  if (c.model_type === 'gpt2') {
    const d = a.d_model;
    out.set('tok_emb', get('transformer.wte.weight').data);
    out.set('pos_emb', get('transformer.wpe.weight').data);
    out.set('ln_f.w', get('transformer.ln_f.weight').data);
    out.set('ln_f.b', get('transformer.ln_f.bias').data);
    for (let l = 0; l < a.n_layer; l++) {
      const p = `transformer.h.${l}.`;
      const attn = get(`${p}attn.c_attn.weight`); // Conv1D: already [in, out]
      const bias = get(`${p}attn.c_attn.bias`).data;
      out.set(`l${l}.ln1.w`, get(`${p}ln_1.weight`).data);
      out.set(`l${l}.ln1.b`, get(`${p}ln_1.bias`).data);
      ['q', 'k', 'v'].forEach((x, i) => {
        out.set(`l${l}.w${x}`, columns(attn, i * d, d));
        out.set(`l${l}.b${x}`, bias.slice(i * d, (i + 1) * d));
      });
      out.set(`l${l}.wo`, get(`${p}attn.c_proj.weight`).data);
      out.set(`l${l}.bo`, get(`${p}attn.c_proj.bias`).data);
      out.set(`l${l}.ln2.w`, get(`${p}ln_2.weight`).data);
      out.set(`l${l}.ln2.b`, get(`${p}ln_2.bias`).data);
      out.set(`l${l}.fc1`, get(`${p}mlp.c_fc.weight`).data);
      out.set(`l${l}.b1`, get(`${p}mlp.c_fc.bias`).data);
      out.set(`l${l}.fc2`, get(`${p}mlp.c_proj.weight`).data);
      out.set(`l${l}.b2`, get(`${p}mlp.c_proj.bias`).data);
    }
    return out;
  }
  out.set('tok_emb', get('model.embed_tokens.weight').data);
  if (a.tied_embeddings === false) out.set('lm_head', get('lm_head.weight').data);
  out.set('ln_f.w', get('model.norm.weight').data);
  for (let l = 0; l < a.n_layer; l++) {
    const p = `model.layers.${l}.`;
    out.set(`l${l}.ln1.w`, get(`${p}input_layernorm.weight`).data);
    for (const x of ['q', 'k', 'v']) {
      out.set(`l${l}.w${x}`, transpose(get(`${p}self_attn.${x}_proj.weight`)));
      if (hf.has(`${p}self_attn.${x}_proj.bias`))
        out.set(`l${l}.b${x}`, get(`${p}self_attn.${x}_proj.bias`).data);
    }
    out.set(`l${l}.wo`, transpose(get(`${p}self_attn.o_proj.weight`)));
    out.set(`l${l}.ln2.w`, get(`${p}post_attention_layernorm.weight`).data);
    out.set(`l${l}.w_gate`, transpose(get(`${p}mlp.gate_proj.weight`)));
    out.set(`l${l}.w_up`, transpose(get(`${p}mlp.up_proj.weight`)));
    out.set(`l${l}.w_down`, transpose(get(`${p}mlp.down_proj.weight`)));
  }
  return out;
}

/** A fixture checkpoint as warmgate's architecture, packed weights.bin bytes and its index. */
export async function readHfCheckpoint(
  dir: string,
): Promise<{ arch: Architecture; index: WeightIndex; bytes: Uint8Array }> {
  const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as HfConfig;
  const arch = architecture(config);
  const tensors = warmgateTensors(config, arch, await readSafetensors(dir));
  const { index, byteLength } = packedWeightIndex(resolveArchitecture(arch));
  const bytes = new Uint8Array(byteLength);
  for (const [name, e] of Object.entries(index)) {
    const data = tensors.get(name);
    if (!data || data.byteLength !== e.byteLength)
      throw new Error(`${dir}: ${name} missing or of the wrong size`);
    bytes.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), e.offset);
  }
  return { arch, index, bytes };
}
