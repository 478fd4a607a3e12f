// One interface over every kind's tfjs model, and the registry that builds a model from a
// ModelConfig: the trainer, translate() and checkpoints work with any of them. The three
// Transformer text kinds share TransformerModel (model.ts); the others live in models/<kind>/.

import type * as tf from '@tensorflow/tfjs-core';
import { baseConfig, type ConfigOf, type ModelConfig, type Preset } from '@attend/core';
import { TransformerModel, type TransformerModelOptions, type AttentionMaps, type ForwardOptions, type ForwardResult, type TokenBatch } from './model.js';
import type { NamedParam } from './params.js';
import type { TrainBatch } from './trainer.js';
import { RnnSeq2SeqModel } from './models/rnn-seq2seq/model.js';
import { VitModel } from './models/vit-classifier/model.js';
import { LoraModel } from './lora.js';
import { CanvasModel } from './models/canvas-classifier/model.js';
import { StnModel } from './models/stn-classifier/model.js';
import { CaptionerModel } from './models/image-captioner/model.js';
import { GlimpseModel } from './models/glimpse-classifier/model.js';
import { VisionEncoderDecoderModel } from './models/vision-encoder-decoder/model.js';

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
  /**
   * The training objective, for a model whose loss is not the cross-entropy of `forward`'s
   * logits against `batch.labels` (REINFORCE for hard attention, extra regularisers). The trainer,
   * gradient accumulation and evaluation's `batchLoss` call it when present; it must return a
   * scalar whose gradient is the update (a surrogate loss for REINFORCE). `context.step` is the
   * optimizer step (0 outside training), for seeding any sampling deterministically.
   */
  trainingLoss?(batch: TrainBatch, context: TrainingLossContext): tf.Scalar;
  dispose(): void;
}

/** What `AttendModel.trainingLoss` is told about the call. */
export interface TrainingLossContext {
  /** True inside an optimizer step (dropout, sampling); false when evaluating. */
  training: boolean;
  /** The optimizer step being computed; 0 when evaluating. */
  step: number;
  labelSmoothing?: number;
}

type ModelFactory<P extends Preset> = (config: ConfigOf<P>, options: TransformerModelOptions) => AttendModel;

/** The tfjs model of each kind. Adding a kind: its class in models/<kind>/ and one entry here. */
export const TFJS_MODELS: { readonly [P in Preset]: ModelFactory<P> } = Object.freeze({
  'encoder-classifier': (config, options) => new TransformerModel(config, options),
  'decoder-lm': (config, options) => new TransformerModel(config, options),
  'encoder-decoder': (config, options) => new TransformerModel(config, options),
  'rnn-seq2seq': (config, options) => new RnnSeq2SeqModel(config, { seed: options.seed }),
  'vit-classifier': (config, options) => new VitModel(config, { seed: options.seed }),
  'canvas-classifier': (config, options) => new CanvasModel(config, { seed: options.seed }),
  'stn-classifier': (config, options) => new StnModel(config, { seed: options.seed }),
  'image-captioner': (config, options) => new CaptionerModel(config, { seed: options.seed }),
  'glimpse-classifier': (config, options) => new GlimpseModel(config, { seed: options.seed }),
  'vision-encoder-decoder': (config, options) => new VisionEncoderDecoderModel(config, { seed: options.seed }),
});

/** The model of `config.preset`, with seeded initial weights; with LoRA adapters (lora.ts) when the config has `lora`. */
export function createModel(config: ModelConfig, options: TransformerModelOptions = {}): AttendModel {
  const model = (TFJS_MODELS[config.preset] as ModelFactory<Preset>)(baseConfig(config) as ConfigOf<Preset>, options);
  return config.lora ? new LoraModel(model, config.lora, options.seed) : model;
}
