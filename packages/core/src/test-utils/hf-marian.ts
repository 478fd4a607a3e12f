// A small MarianMTModel in memory (config.json fields and tensors as transformers writes them)
// for the Marian importer and exporter tests.

import { createRng } from '../random.js';
import { f32Tensor, type NamedTensor } from '../safetensors.js';
import type { HfModel } from '../hf-import/model.js';

export const d = 8;
export const ff = 12;
export const P = 6;
export const V = 11;
export const PAD = V - 1;

/** A small MarianMTModel (two layers per stack, the tied copies transformers writes); `options` vary its prefix, config, tensors. */
export function marian(options: { prefix?: string; config?: Record<string, unknown>; extra?: Record<string, NamedTensor>; drop?: string[] } = {}): HfModel {
  const p = options.prefix ?? 'model.';
  const shapes: Record<string, number[]> = { [`${p}shared.weight`]: [V, d], final_logits_bias: [1, V] };
  for (const stack of ['encoder', 'decoder']) {
    for (let i = 0; i < 2; i++) {
      const h = `${p}${stack}.layers.${i}.`;
      for (const attn of stack === 'decoder' ? ['self_attn', 'encoder_attn'] : ['self_attn']) {
        for (const m of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) Object.assign(shapes, { [`${h}${attn}.${m}.weight`]: [d, d], [`${h}${attn}.${m}.bias`]: [d] });
        Object.assign(shapes, { [`${h}${attn}_layer_norm.weight`]: [d], [`${h}${attn}_layer_norm.bias`]: [d] });
      }
      Object.assign(shapes, { [`${h}fc1.weight`]: [ff, d], [`${h}fc1.bias`]: [ff], [`${h}fc2.weight`]: [d, ff], [`${h}fc2.bias`]: [d], [`${h}final_layer_norm.weight`]: [d], [`${h}final_layer_norm.bias`]: [d] });
    }
  }
  const rng = createRng(5);
  const weights: Record<string, NamedTensor> = Object.fromEntries(
    Object.entries(shapes).map(([name, shape]) => [name, f32Tensor(shape, Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal()))]),
  );
  // The tied copies transformers writes beside model.shared.
  weights[`${p}encoder.embed_tokens.weight`] = weights[`${p}shared.weight`]!;
  weights['lm_head.weight'] = weights[`${p}shared.weight`]!;
  for (const name of options.drop ?? []) delete weights[name];
  return {
    config: {
      model_type: 'marian', architectures: ['MarianMTModel'], d_model: d, vocab_size: V, decoder_vocab_size: V, max_position_embeddings: P,
      encoder_layers: 2, decoder_layers: 2, encoder_attention_heads: 2, decoder_attention_heads: 2, encoder_ffn_dim: ff, decoder_ffn_dim: ff,
      activation_function: 'swish', scale_embedding: true, pad_token_id: PAD, eos_token_id: 0, decoder_start_token_id: PAD,
      share_encoder_decoder_embeddings: true, normalize_before: false, static_position_embeddings: true, ...options.config,
    },
    weights: { ...weights, ...options.extra },
    source: 'hf/marian',
  };
}

