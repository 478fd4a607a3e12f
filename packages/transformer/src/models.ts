// One interface over every preset's tfjs model, and the one place that builds a model from a
// ModelConfig: the trainer, translate() and checkpoints work with any of them.

import type * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from '@attend/core';
import { TransformerModel, type TransformerModelOptions, type AttentionMaps, type ForwardOptions, type ForwardResult, type TokenBatch } from './model.js';
import type { NamedParam } from './params.js';
import { RnnSeq2SeqModel } from './rnn.js';
import { VitModel } from './vit.js';

/** What the trainer, decoding and checkpoints need from a model. */
export interface AttendModel {
  readonly config: ModelConfig;
  namedParams(): NamedParam[];
  trainableVariables(): tf.Variable[];
  parameterCount(): number;
  /** Logits of the whole model (see TransformerModel.forward). */
  forward(input: TokenBatch, target?: TokenBatch, options?: ForwardOptions): ForwardResult;
  /** Encoder states [B, S, d] (encoder–decoder presets). */
  encode(source: TokenBatch, options?: ForwardOptions, maps?: AttentionMaps): tf.Tensor3D;
  /** Decoder output states [B, T, d] for the decoder input `target`. */
  decode(target: TokenBatch, memory: { states: tf.Tensor3D; source: TokenBatch } | undefined, options?: ForwardOptions, maps?: AttentionMaps): tf.Tensor3D;
  /** Vocabulary logits [B, T, V] from decoder output states. */
  lmLogits(states: tf.Tensor3D): tf.Tensor3D;
  dispose(): void;
}

/** The model of `config.preset`, with seeded initial weights. */
export function createModel(config: ModelConfig, options: TransformerModelOptions = {}): AttendModel {
  switch (config.preset) {
    case 'rnn-seq2seq':
      return new RnnSeq2SeqModel(config, { seed: options.seed });
    case 'vit-classifier':
      return new VitModel(config, { seed: options.seed });
    default:
      return new TransformerModel(config, options);
  }
}
