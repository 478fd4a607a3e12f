// GPT-2 (GPT2LMHeadModel; distilgpt2 has the same layout) → decoder-lm: learned positions,
// pre-norm blocks, a final norm and the head tied to the token table. Its Conv1D weights are
// stored [in, out], and the attention's q, k and v are one fused `c_attn` [d, 3d].

import { ConfigError } from '../errors.js';
import { createModelConfig } from '../config.js';
import { f32Tensor, type NamedTensor } from '../safetensors.js';
import { linearShape, specialTokenId, transpose, type HfConfig, type HfLayerLinears, type HfImporter, type HfModel, type HfWeights, type ImportedModel } from './model.js';
import type { Activation } from '../models/fields.js';

/** Hugging Face activation names (ACT2FN) → attend's; gelu_pytorch_tanh is the same function as gelu_new, silu the same as swish. */
export const HF_ACTIVATIONS: Readonly<Record<string, Activation>> = { gelu: 'gelu', gelu_new: 'gelu_new', gelu_pytorch_tanh: 'gelu_new', relu: 'relu', swish: 'swish', silu: 'swish' };

/** GPT-2's Conv1D modules of a block, by attend's names; q, k and v are the three slices of `c_attn`. */
const GPT2_LINEARS: HfLayerLinears = {
  attendLayers: 'decoder.layers',
  hfLayers: 'h',
  modules: {
    'self_attn.q_proj': { module: 'attn.c_attn', part: 0, parts: 3 },
    'self_attn.k_proj': { module: 'attn.c_attn', part: 1, parts: 3 },
    'self_attn.v_proj': { module: 'attn.c_attn', part: 2, parts: 3 },
    'self_attn.out_proj': { module: 'attn.c_proj' },
    fc1: { module: 'mlp.c_fc' },
    fc2: { module: 'mlp.c_proj' },
  },
  conv1d: true,
  norms: { self_attn_layer_norm: 'ln_1', final_layer_norm: 'ln_2' },
};

/** GPT-2's tensors outside the blocks, by attend's names. */
const GPT2_TENSORS = {
  'embed_tokens.weight': 'wte.weight',
  'decoder.embed_positions.weight': 'wpe.weight',
  'decoder.layer_norm.weight': 'ln_f.weight',
  'decoder.layer_norm.bias': 'ln_f.bias',
  'lm_head.weight': 'lm_head.weight',
} as const;

export const gpt2Importer: HfImporter = {
  architectures: ['GPT2LMHeadModel', 'GPT2Model'],
  basePrefix: 'transformer.',
  linears: GPT2_LINEARS,
  tensors: GPT2_TENSORS,
  heads: [GPT2_TENSORS['lm_head.weight']],
  import(model: HfModel, c: HfConfig, w: HfWeights): ImportedModel {
    const notes: string[] = [];
    const d = c.int('n_embd');
    const numHeads = c.int('n_head');
    const layers = c.int('n_layer');
    const maxSeqLen = c.int('n_positions');
    const vocabSize = c.int('vocab_size');
    const dFf = c.optionalInt('n_inner', 4 * d);
    const activation = c.oneOf('activation_function', 'gelu_new', HF_ACTIVATIONS);
    c.only('add_cross_attention', false, 'GPT-2 without cross-attention');
    c.only('scale_attn_weights', true, 'attention scores scaled by 1/√(head size)');
    c.only('scale_attn_by_inverse_layer_idx', false, 'attention scores scaled by 1/√(head size) only');
    const tie = c.bool('tie_word_embeddings', true);
    const eos = specialTokenId(model, 'eos_token_id', 'eos_token');
    if (eos === undefined) throw new ConfigError(`${model.source}/config.json: eos_token_id`, 'missing, and tokenizer_config.json names no eos_token');
    const bos = specialTokenId(model, 'bos_token_id', 'bos_token') ?? eos;
    let pad = specialTokenId(model, 'pad_token_id', 'pad_token');
    if (pad === undefined) {
      pad = eos;
      notes.push(`no pad token: padding uses the eos token (id ${eos}), as GPT-2 pipelines do`);
    }
    const config = createModelConfig({
      preset: 'decoder-lm',
      vocabSize, dModel: d, numHeads, dFf, maxSeqLen, numDecoderLayers: layers,
      dropout: c.number('resid_pdrop', 0.1),
      norm: 'pre', activation, positional: 'learned', attention: 'scaled_dot', localWindow: null,
      layerNormEps: c.number('layer_norm_epsilon', 1e-5),
      scaleEmbedding: false, embeddingNorm: false, tieEmbeddings: tie,
      padTokenId: pad, bosTokenId: bos, eosTokenId: eos,
    });

    const out: Record<string, NamedTensor> = {};
    const norm = (from: string, to: string): void => {
      out[`${to}.weight`] = w.copy(`${from}.weight`, [d]);
      out[`${to}.bias`] = w.copy(`${from}.bias`, [d]);
    };
    /** A Conv1D [in, out] as attend's Linear [out, in]. */
    const conv = (from: string, to: string, inDim: number, outDim: number): void => {
      out[`${to}.weight`] = f32Tensor([outDim, inDim], transpose(w.take(`${from}.weight`, [inDim, outDim]), inDim, outDim));
      out[`${to}.bias`] = w.copy(`${from}.bias`, [outDim]);
    };
    const T = GPT2_TENSORS;
    out['embed_tokens.weight'] = w.copy(T['embed_tokens.weight'], [vocabSize, d]);
    out['decoder.embed_positions.weight'] = w.copy(T['decoder.embed_positions.weight'], [maxSeqLen, d]);
    for (let i = 0; i < layers; i++) {
      const h = `${GPT2_LINEARS.hfLayers}.${i}`;
      const p = `${GPT2_LINEARS.attendLayers}.${i}`;
      for (const [to, from] of Object.entries(GPT2_LINEARS.norms)) norm(`${h}.${from}`, `${p}.${to}`);
      // c_attn [d, 3d]: columns [0, d) are q, [d, 2d) k, [2d, 3d) v.
      const fused = w.take(`${h}.attn.c_attn.weight`, [d, 3 * d]);
      const fusedBias = w.take(`${h}.attn.c_attn.bias`, [3 * d]);
      for (const [to, { module, part }] of Object.entries(GPT2_LINEARS.modules)) {
        if (part === undefined) {
          const [outDim, inDim] = linearShape(to, d, dFf);
          conv(`${h}.${module}`, `${p}.${to}`, inDim, outDim);
          continue;
        }
        const weight = new Float32Array(d * d);
        for (let o = 0; o < d; o++) for (let k = 0; k < d; k++) weight[o * d + k] = fused[k * 3 * d + part * d + o]!;
        out[`${p}.${to}.weight`] = f32Tensor([d, d], weight);
        out[`${p}.${to}.bias`] = f32Tensor([d], fusedBias.subarray(part * d, (part + 1) * d));
      }
    }
    out['decoder.layer_norm.weight'] = w.copy(T['decoder.layer_norm.weight'], [d]);
    out['decoder.layer_norm.bias'] = w.copy(T['decoder.layer_norm.bias'], [d]);
    if (!tie) out['lm_head.weight'] = w.copy(T['lm_head.weight'], [vocabSize, d]);
    // The causal-mask buffers older files carry, and the tied head some files repeat.
    w.skip((n) => /^h\.\d+\.attn\.(bias|masked_bias)$/.test(n) || (tie && n === T['lm_head.weight']));
    return { config, weights: out, notes };
  },
};
