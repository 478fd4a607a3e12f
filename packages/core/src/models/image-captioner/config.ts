// The image captioner of the seeds (Show and Tell; Show, Attend and Tell): a convolution (one
// layer, kernel patchSize, stride patchStride, ReLU, learned positions) turns the image into an
// L × D grid of features a_i, and an LSTM decoder writes the caption word by word. Without
// attention (Vinyals et al., 2015) the mean feature only initialises the decoder; with soft
// attention (Xu et al., 2015, §4.2) every word reads z_t = β_t Σ_i α_ti a_i, α from Bahdanau's
// additive score over the previous state; with hard attention (§4.1) it reads the one location
// s_t sampled from α (the arg-max at test time), trained with REINFORCE.

import type { CaptionLayout } from '../../caption-figure.js';
import { ConfigError } from '../../errors.js';
import type { ModelKind } from '../kind.js';
import type { ModelConfig } from '../registry.js';
import { captionerConfig } from './hf.js';
import { logitActivations } from '../stack.js';
import { BASE_FIELDS, TOKEN_FIELDS, baseFields, int, num, oneOf, positive, tokenFields, type BaseFields, type TokenFields } from '../fields.js';

/** How the decoder looks at the feature grid: not at all (Show and Tell), soft or hard attention (Show, Attend and Tell). */
export const VISUAL_ATTENTIONS = ['none', 'soft', 'hard'] as const;
export type VisualAttention = (typeof VISUAL_ATTENTIONS)[number];

/**
 * How hard attention reads the grid at test time (Xu et al. §4.1 compare the two): the arg-max
 * location's feature, or the expected context Σ_i α_i a_i. A run-time choice, not a config field:
 * the same weights serve both (tfjs `CaptionerModel.hardInference`, the ONNX decoder step's
 * `use_expectation` input).
 */
export const HARD_INFERENCES = ['argmax', 'expectation'] as const;
export type HardInference = (typeof HARD_INFERENCES)[number];

export interface ImageCaptionerConfig extends BaseFields, TokenFields {
  preset: 'image-captioner';
  /** Image height and width in pixels (one channel, row-major). */
  imageHeight: number;
  imageWidth: number;
  /** Side of the square convolution kernel over the image. */
  patchSize: number;
  /** Stride of the convolution; patchSize/2 gives overlapping windows. */
  patchStride: number;
  /** D: channels of the feature grid. */
  featureSize: number;
  visualAttention: VisualAttention;
  /** λ of the doubly stochastic penalty λ Σ_i (1 − Σ_t α_ti)² (soft attention; 0 turns it off). */
  attentionPenalty: number;
  /** λ_e, weight of the entropy bonus H[α] in hard attention's REINFORCE update. */
  entropyBonus: number;
  /** Decay of hard attention's moving-average baseline: b ← decay·b + (1 − decay)·reward. */
  baselineDecay: number;
  /** Factor the model applies to raw pixel values (1 for values in [0, 1], 1/255 for bytes). */
  pixelScale: number;
}

export const imageCaptioner: ModelKind<ImageCaptionerConfig> = {
  preset: 'image-captioner',
  task: 'image-to-text',
  description: 'CNN + LSTM image captioner: no, soft or hard attention over the feature grid',
  fields: ['preset', ...TOKEN_FIELDS, ...BASE_FIELDS, 'imageHeight', 'imageWidth', 'patchSize', 'patchStride', 'featureSize', 'visualAttention', 'attentionPenalty', 'entropyBonus', 'baselineDecay', 'pixelScale'],
  laterFields: {},
  // 24 × 48 digit scenes, 8 × 8 windows at stride 4: a 5 × 11 grid of 55 locations.
  defaults: () => ({
    preset: 'image-captioner',
    dModel: 128,
    maxSeqLen: 8,
    dropout: 0.1,
    padTokenId: 0,
    bosTokenId: 1,
    eosTokenId: 2,
    imageHeight: 24,
    imageWidth: 48,
    patchSize: 8,
    patchStride: 4,
    featureSize: 64,
    visualAttention: 'soft',
    attentionPenalty: 0.01,
    entropyBonus: 0.01,
    baselineDecay: 0.9,
    pixelScale: 1,
  }),
  hfConfig: captionerConfig,
  validate(v) {
    const config: ImageCaptionerConfig = {
      preset: 'image-captioner',
      ...tokenFields(v),
      ...baseFields(v),
      imageHeight: int(v, 'imageHeight', 1),
      imageWidth: int(v, 'imageWidth', 1),
      patchSize: int(v, 'patchSize', 1),
      patchStride: int(v, 'patchStride', 1),
      featureSize: int(v, 'featureSize', 1),
      visualAttention: oneOf(v, 'visualAttention', VISUAL_ATTENTIONS),
      attentionPenalty: num(v, 'attentionPenalty', 0, 1000),
      entropyBonus: num(v, 'entropyBonus', 0, 1000),
      baselineDecay: num(v, 'baselineDecay', 0, 1),
      pixelScale: positive(v, 'pixelScale'),
    };
    const side = Math.min(config.imageHeight, config.imageWidth);
    if (config.patchSize > side) throw new ConfigError('patchSize', `${config.patchSize} does not fit an image of ${config.imageHeight} × ${config.imageWidth}`);
    if (config.maxSeqLen < 2) throw new ConfigError('maxSeqLen', `${config.maxSeqLen} leaves no room for a word after the start token; use at least 2`);
    return config;
  },
  flops: (config) => {
    // Per generated word: the LSTM cell, attention over the L locations, the output layer; the
    // convolution runs once per image and is counted per word over an average caption of maxSeqLen/2.
    const d = config.dModel;
    const D = config.featureSize;
    const L = featureLocations(config);
    const input = d + (config.visualAttention === 'none' ? 0 : D);
    const modules = [
      { module: 'encoder.conv', flops: (2 * L * config.patchSize ** 2 * D) / Math.max(1, config.maxSeqLen / 2) },
      { module: 'decoder.lstm', flops: 2 * 4 * d * (input + d) },
    ];
    if (config.visualAttention !== 'none') modules.push({ module: 'decoder.attention', flops: 2 * d * D + 2 * L * D + 2 * L * D + 2 * d });
    modules.push({ module: 'decoder.output', flops: 2 * d * d + (config.visualAttention === 'none' ? 0 : 2 * D * d) + 2 * d * config.vocabSize });
    return modules;
  },
  sizedWeights: (config) => ({
    'embed_tokens.weight': [config.vocabSize, config.dModel],
    'encoder.conv.weight': [config.featureSize, config.patchSize ** 2],
    'encoder.positions': [featureLocations(config), config.featureSize],
    'decoder.lstm.weight_hh_l0': [4 * config.dModel, config.dModel],
  }),
  activations: (config, { context }) => {
    // The image's windows and features once; per word the LSTM's gates and state, the attention
    // scores and hidden units over L locations, then the logits.
    const L = featureLocations(config);
    const perImage = L * (config.patchSize ** 2 + 2 * config.featureSize);
    const attention = config.visualAttention === 'none' ? 0 : L * (config.featureSize + 3) + config.featureSize;
    return perImage + context * (3 * 4 * config.dModel + attention + 2 * config.dModel) + logitActivations(context, config.vocabSize);
  },
};

/** Rows and columns of the feature grid: ⌊(side − patchSize) / patchStride⌋ + 1 (a convolution without padding). */
export function featureGrid(config: Pick<ImageCaptionerConfig, 'imageHeight' | 'imageWidth' | 'patchSize' | 'patchStride'>): { rows: number; cols: number } {
  const side = (n: number) => Math.floor((n - config.patchSize) / config.patchStride) + 1;
  return { rows: side(config.imageHeight), cols: side(config.imageWidth) };
}

/**
 * How α maps onto the scene (`attend attention`, the playground): the convolution's grid of
 * windows; hard attention takes one location per word (not with `hardInference` 'expectation',
 * which reads every location by its weight).
 */
export function captionerAttentionLayout(config: ImageCaptionerConfig, hardInference: HardInference = 'argmax'): CaptionLayout {
  return { grid: { ...featureGrid(config), window: config.patchSize, stride: config.patchStride }, hard: config.visualAttention === 'hard' && hardInference === 'argmax' };
}

/**
 * `config` when `hardInference` can apply to it: an image-captioner with hard attention; else a
 * ConfigError naming `hardInference` and what the model is.
 */
export function hardCaptionerConfig(config: ModelConfig, hardInference: HardInference): ImageCaptionerConfig {
  const needs = `${hardInference} needs an image-captioner with hard attention`;
  if (config.preset !== 'image-captioner') throw new ConfigError('hardInference', `${needs}; this model is a ${config.preset}`);
  if (config.visualAttention !== 'hard') throw new ConfigError('hardInference', `${needs}; this one has ${config.visualAttention} attention`);
  return config;
}

/**
 * The reading a run of `config` takes at test time: `hardInference` (default the arg-max) for an
 * image-captioner with hard attention; undefined for any other model, which has none to choose.
 */
export function hardReading(config: ModelConfig, hardInference?: HardInference): HardInference | undefined {
  return config.preset === 'image-captioner' && config.visualAttention === 'hard' ? (hardInference ?? 'argmax') : undefined;
}

/** L, the locations of the feature grid. */
export function featureLocations(config: Pick<ImageCaptionerConfig, 'imageHeight' | 'imageWidth' | 'patchSize' | 'patchStride'>): number {
  const { rows, cols } = featureGrid(config);
  return rows * cols;
}
