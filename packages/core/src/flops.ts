// Forward FLOPs per token of a ModelConfig, by module, as in Kaplan et al. (2020, §2.1) and
// nanoGPT's `estimate_mfu`: a multiply-add counts 2 FLOPs; matrix products only (norms,
// softmax, activations, masks and embedding look-ups are left out, they are O(d) per token).
// Attention over a context of n keys costs 2·n·d for the scores and 2·n·d for the weighted sum.

import { ConfigError } from './errors.js';
import type { ModelConfig } from './config.js';

export interface FlopsOptions {
  /**
   * Keys each query attends to (the context length n); default maxSeqLen. Causal
   * self-attention is counted at its full context, the upper bound a token sees.
   */
  contextLength?: number;
  /** Source length S the decoder's cross-attention reads (encoder-decoder); default contextLength. */
  sourceLength?: number;
}

export interface ModuleFlops {
  /** Weight-name prefix of the module, e.g. `encoder.layers.0.self_attn`, or `lm_head`. */
  module: string;
  /** Forward FLOPs per token of the stack the module belongs to. */
  flops: number;
}

export interface FlopsPerToken {
  modules: ModuleFlops[];
  /** Sum over the modules: an encoder token plus a decoder token for the encoder-decoder. */
  total: number;
  contextLength: number;
}

/** Forward FLOPs per token of each module of `config` (see the file comment for what counts). */
export function flopsPerToken(config: ModelConfig, options: FlopsOptions = {}): FlopsPerToken {
  if (config.preset === 'rnn-seq2seq') throw new ConfigError('preset', `FLOPs are counted for the Transformer presets; got 'rnn-seq2seq'`);
  const n = options.contextLength ?? config.maxSeqLen;
  const s = options.sourceLength ?? n;
  for (const [field, value] of [['contextLength', n], ['sourceLength', s]] as const) {
    if (!Number.isInteger(value) || value < 1) throw new ConfigError(field, `must be an integer >= 1, got ${value}`);
  }
  const d = config.dModel;
  const modules: ModuleFlops[] = [];
  // Projections q, k, v, o (2·d² each), the score function's own products, scores and sum.
  const attention = (keys: number): number => 4 * 2 * d * d + scoreFlops(config, keys) + 2 * keys * d;
  const feedForward = 2 * 2 * d * config.dFf;
  // The vit-classifier's tokens are patches: one linear map of each flattened patch to d.
  if (config.preset === 'vit-classifier') modules.push({ module: 'embeddings.patch_embeddings', flops: 2 * config.numChannels! * config.patchSize! ** 2 * d });
  for (let i = 0; i < config.numEncoderLayers; i++) {
    modules.push({ module: `encoder.layers.${i}.self_attn`, flops: attention(n) });
    modules.push({ module: `encoder.layers.${i}.fc1+fc2`, flops: feedForward });
  }
  for (let i = 0; i < config.numDecoderLayers; i++) {
    modules.push({ module: `decoder.layers.${i}.self_attn`, flops: attention(n) });
    if (config.preset === 'encoder-decoder') modules.push({ module: `decoder.layers.${i}.encoder_attn`, flops: attention(s) });
    modules.push({ module: `decoder.layers.${i}.fc1+fc2`, flops: feedForward });
  }
  if (config.preset === 'encoder-classifier' || config.preset === 'vit-classifier') modules.push({ module: 'classifier', flops: 2 * d * config.numClasses });
  else modules.push({ module: 'lm_head', flops: 2 * d * config.vocabSize });
  return { modules, total: modules.reduce((sum, m) => sum + m.flops, 0), contextLength: n };
}

/** FLOPs of one query's scores against `keys` keys, with the score function's extra products. */
function scoreFlops(config: ModelConfig, keys: number): number {
  const d = config.dModel;
  switch (config.attention) {
    case 'general': // q·W per head, then dot products
      return 2 * d * (d / config.numHeads) + 2 * keys * d;
    case 'additive': // v·tanh(W₁q + W₂k): the key projection is per key, shared by the queries
      return 2 * 2 * d * (d / config.numHeads) + 2 * keys * d;
    default: // scaled_dot, dot, cosine
      return 2 * keys * d;
  }
}
