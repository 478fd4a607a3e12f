// Pieces shared by the kinds built on a Transformer layer stack (encoder-classifier,
// decoder-lm, encoder-decoder, vit-classifier): the FLOPs of its layers, and the tensors that
// pin its size.

import type { ModuleFlops } from '../flops.js';
import type { BaseFields, StackFields } from './fields.js';

type StackConfig = BaseFields & Pick<StackFields, 'numHeads' | 'dFf' | 'attention'>;

/**
 * The stack's tensors that pin its size (see ModelKind.sizedWeights): the last layer's fc1
 * ([dFf, dModel], so the layer count too) and the learned positions ([maxSeqLen, dModel]).
 */
export function stackSizedWeights(config: BaseFields & Pick<StackFields, 'dFf' | 'positional'>, stack: 'encoder' | 'decoder', count: number): Record<string, number[]> {
  const sized: Record<string, number[]> = { [`${stack}.layers.${count - 1}.fc1.weight`]: [config.dFf, config.dModel] };
  if (config.positional === 'learned') sized[`${stack}.embed_positions.weight`] = [config.maxSeqLen, config.dModel];
  return sized;
}

/**
 * Values one example keeps in `count` layers over `tokens` tokens: per token the norms, q, k, v,
 * the attention output and residuals (∝ dModel) and the feed-forward's hidden layer before and
 * after its activation (∝ dFf); per head the scores, their softmax and its gradient over `keys`
 * keys, and over `cross` source tokens for a decoder's cross-attention.
 */
export function stackActivations(config: StackConfig, count: number, tokens: number, keys: number, cross?: number): number {
  const perToken = 16 * config.dModel + 3 * config.dFf + (cross === undefined ? 0 : 8 * config.dModel);
  return count * tokens * (perToken + 3 * config.numHeads * (keys + (cross ?? 0)));
}

/** Logits over `classes` for each of `tokens` tokens, their softmax and its gradient. */
export function logitActivations(tokens: number, classes: number): number {
  return 3 * tokens * classes;
}

/** Projections q, k, v, o (2·d² each), the score function's own products, scores and weighted sum. */
export function attentionFlops(config: StackConfig, keys: number): number {
  return 4 * 2 * config.dModel * config.dModel + scoreFlops(config, keys) + 2 * keys * config.dModel;
}

/** Two position-wise linear maps d → dFf → d. */
export function feedForwardFlops(config: StackConfig): number {
  return 2 * 2 * config.dModel * config.dFf;
}

/** FLOPs of one query's scores against `keys` keys, with the score function's extra products. */
export function scoreFlops(config: StackConfig, keys: number): number {
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

/** Self-attention and feed-forward of `count` layers of the stack named `stack`. */
export function stackFlops(config: StackConfig, stack: 'encoder' | 'decoder', count: number, keys: number, cross?: number): ModuleFlops[] {
  const modules: ModuleFlops[] = [];
  for (let i = 0; i < count; i++) {
    modules.push({ module: `${stack}.layers.${i}.self_attn`, flops: attentionFlops(config, keys) });
    if (cross !== undefined) modules.push({ module: `${stack}.layers.${i}.encoder_attn`, flops: attentionFlops(config, cross) });
    modules.push({ module: `${stack}.layers.${i}.fc1+fc2`, flops: feedForwardFlops(config) });
  }
  return modules;
}
