// The three Transformer text kinds share TransformerModel (model.ts); what sets them apart is
// their output head and which stacks their forward pass runs. Each is one small object here,
// looked up by preset, so the model never compares preset names. A new Transformer text kind is
// one more entry (the compiler asks for it).

import type * as tf from '@tensorflow/tfjs-core';
import { ShapeError, type ConfigOf, type Pooling, type TransformerConfig } from '@attend/core';
import type { AttentionMaps, ForwardOptions, TokenBatch, TransformerModel } from './model.js';

/** The output head: a classifier over pooled encoder states, or vocabulary logits (tied to the token table or their own matrix). */
export type TextHead = { kind: 'classifier'; pooling: Pooling; pooler: boolean; numClasses: number } | { kind: 'lm'; tied: boolean; bias: boolean };

export interface TextKind<C extends TransformerConfig> {
  /** The kind's output head. */
  head(config: C): TextHead;
  /** Rows of its token-type table (0: none). */
  tokenTypes(config: C): number;
  /** The logits of the whole model on `input` (and `target`, the decoder input of an encoder–decoder). */
  logits(model: TransformerModel, input: TokenBatch, target: TokenBatch | undefined, options: ForwardOptions, maps: AttentionMaps | undefined): tf.Tensor;
}

const TEXT_KINDS: { readonly [P in TransformerConfig['preset']]: TextKind<ConfigOf<P>> } = {
  'encoder-classifier': {
    head: (c) => ({ kind: 'classifier', pooling: c.pooling, pooler: c.pooler, numClasses: c.numClasses }),
    tokenTypes: (c) => c.typeVocabSize,
    logits: (m, input, _target, options, maps) => m.classify(m.encode(input, options, maps), input),
  },
  'decoder-lm': {
    head: (c) => ({ kind: 'lm', tied: c.tieEmbeddings, bias: false }),
    tokenTypes: () => 0,
    logits: (m, input, _target, options, maps) => m.lmLogits(m.decode(input, undefined, options, maps)),
  },
  'encoder-decoder': {
    head: (c) => ({ kind: 'lm', tied: c.tieEmbeddings, bias: c.logitsBias }),
    tokenTypes: () => 0,
    logits(m, input, target, options, maps) {
      if (!target) throw new ShapeError('encoder-decoder forward needs a target (decoder input) batch');
      const states = m.encode(input, options, maps);
      return m.lmLogits(m.decode(target, { states, source: input }, options, maps));
    },
  },
};

/** The entry of `config`'s kind. */
export function textKind(config: TransformerConfig): TextKind<TransformerConfig> {
  return TEXT_KINDS[config.preset] as TextKind<TransformerConfig>;
}
