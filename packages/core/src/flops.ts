// Forward FLOPs per token of a ModelConfig, by module, as in Kaplan et al. (2020, §2.1) and
// nanoGPT's `estimate_mfu`: a multiply-add counts 2 FLOPs; matrix products only (norms,
// softmax, activations, masks and embedding look-ups are left out, they are O(d) per token).
// Attention over a context of n keys costs 2·n·d for the scores and 2·n·d for the weighted sum.

import { ConfigError } from './errors.js';
import type { ModelConfig } from './config.js';
import type { ModelKind } from './models/kind.js';
import { modelKind } from './models/registry.js';

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
  const modules = (modelKind(config.preset) as ModelKind<ModelConfig>).flops(config, { context: n, source: s });
  return { modules, total: modules.reduce((sum, m) => sum + m.flops, 0), contextLength: n };
}
