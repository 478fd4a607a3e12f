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
  /** Source length S the decoder's cross-attention reads (encoder-decoder, rnn-seq2seq); default contextLength. */
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
  /** Sum over the modules: an encoder token plus a decoder token for the encoder–decoders. */
  total: number;
  contextLength: number;
}

/** Forward FLOPs per token of each module of `config` (see the file comment for what counts). */
export function flopsPerToken(config: ModelConfig, options: FlopsOptions = {}): FlopsPerToken {
  const n = options.contextLength ?? config.maxSeqLen;
  const s = options.sourceLength ?? n;
  for (const [field, value] of [['contextLength', n], ['sourceLength', s]] as const) {
    if (!Number.isInteger(value) || value < 1) throw new ConfigError(field, `must be an integer >= 1, got ${value}`);
  }
  if (config.preset === 'rnn-seq2seq') return rnnFlopsPerToken(config, s, n);
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

/**
 * The recurrent encoder–decoder (rnn-seq2seq) per encoder token plus per decoder token: each
 * layer and direction 2·G·H·(in + H) (input and recurrent gate products; G = 3 gates for the
 * GRU, 4 for the LSTM); the decoder's attention over `sourceLength` states — the score function's products (as the Transformer's,
 * one head; the additive key projection counted per encoder token), the context sum 2·S·d,
 * local-p's position predictor 2·d² + 2·d (its window is applied as a mask over all S scores,
 * so all are counted), the combination W_c[c; s] 2·2d·d — and the output layer 2·d·V. The
 * bridge to the decoder's initial state runs once per sequence and is left out.
 */
function rnnFlopsPerToken(config: ModelConfig, sourceLength: number, contextLength: number): FlopsPerToken {
  const d = config.dModel;
  const attention = config.rnnAttention ?? 'none';
  const score = attention === 'none' ? undefined : attention === 'dot' ? 'dot' : attention === 'additive' || attention === 'concat' ? 'additive' : 'general';
  const modules: ModuleFlops[] = [];
  const gates = config.rnnCell === 'lstm' ? 4 : 3;
  const cell = (input: number, hidden: number): number => 2 * gates * hidden * (input + hidden);
  const directions = config.rnnBidirectional ? 2 : 1;
  for (let l = 0; l < config.numEncoderLayers; l++) modules.push({ module: `encoder.rnn.l${l}`, flops: directions * cell(d, d / directions) });
  if (score === 'additive') modules.push({ module: 'decoder.attention.score.key', flops: 2 * d * d });
  for (let l = 0; l < config.numDecoderLayers; l++) modules.push({ module: `decoder.rnn.l${l}`, flops: cell(l === 0 && score ? 2 * d : d, d) });
  if (score) {
    const S = sourceLength;
    const products = (score === 'dot' ? 0 : 2 * d * d) + 2 * S * d; // general: q·W; additive: W_q·q (keys: per encoder token)
    const position = attention === 'local-p' ? 2 * d * d + 2 * d : 0;
    modules.push({ module: 'decoder.attention', flops: products + position + 2 * S * d });
    modules.push({ module: 'decoder.attention_combine', flops: 2 * 2 * d * d });
  }
  modules.push({ module: 'lm_head', flops: 2 * d * config.vocabSize });
  return { modules, total: modules.reduce((sum, m) => sum + m.flops, 0), contextLength };
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
