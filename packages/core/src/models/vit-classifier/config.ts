// The vision Transformer classifier (Dosovitskiy et al., 2021): square image patches, each
// flattened through one linear map, a learned CLS token first, learned positions, a Transformer
// encoder, and a classifier on the CLS state. No tokens: images in, class scores out.

import { ConfigError } from '../../errors.js';
import type { ModelKind } from '../kind.js';
import { vitConfig } from './hf.js';
import { BASE_FIELDS, baseFields, classes, int, layers, positive, stackFields, type BaseFields, type StackFields } from '../fields.js';
import { logitActivations, stackActivations, stackFlops, stackSizedWeights } from '../stack.js';

export interface VitClassifierConfig extends BaseFields, Omit<StackFields, 'positional' | 'localWindow'> {
  preset: 'vit-classifier';
  numEncoderLayers: number;
  numClasses: number;
  /** Side of the square input image, in pixels. */
  imageSize: number;
  /** Side of a square patch; divides imageSize. */
  patchSize: number;
  /** Channels per pixel (images are [C, H, W] row-major). */
  numChannels: number;
  /**
   * Factor the model applies to raw pixel values before the patch embedding (HF's
   * `rescale_factor`, e.g. 1/255 or 1/16), so inputs are the values as stored.
   */
  pixelScale: number;
}

const VIT_STACK_FIELDS = ['numHeads', 'dFf', 'norm', 'activation', 'attention', 'layerNormEps'] as const;

export const vitClassifier: ModelKind<VitClassifierConfig> = {
  preset: 'vit-classifier',
  task: 'image-classification',
  description: 'vision Transformer classifier over image patches',
  fields: ['preset', 'numClasses', ...BASE_FIELDS, ...VIT_STACK_FIELDS, 'numEncoderLayers', 'imageSize', 'patchSize', 'numChannels', 'pixelScale'],
  laterFields: { pixelScale: 1 },
  // 8×8 single-channel images in 2×2 patches: 16 patch tokens + CLS.
  defaults: () => ({
    preset: 'vit-classifier',
    dModel: 64,
    maxSeqLen: 17,
    dropout: 0.1,
    numHeads: 4,
    dFf: 128,
    norm: 'pre',
    activation: 'gelu',
    attention: 'scaled_dot',
    layerNormEps: 1e-5,
    numEncoderLayers: 2,
    imageSize: 8,
    patchSize: 2,
    numChannels: 1,
    pixelScale: 1,
  }),
  hfConfig: vitConfig,
  validate(v) {
    const base = baseFields(v);
    const { positional: _p, localWindow: _w, ...stack } = stackFields({ ...v, positional: 'learned', localWindow: null }, base);
    const config: VitClassifierConfig = {
      preset: 'vit-classifier',
      numClasses: classes(v),
      ...base,
      ...stack,
      numEncoderLayers: layers(v, 'numEncoderLayers'),
      imageSize: int(v, 'imageSize', 1),
      patchSize: int(v, 'patchSize', 1),
      numChannels: int(v, 'numChannels', 1),
      pixelScale: positive(v, 'pixelScale'),
    };
    if (config.imageSize % config.patchSize !== 0) {
      throw new ConfigError('patchSize', `${config.patchSize} does not divide imageSize=${config.imageSize}; choose a divisor of imageSize`);
    }
    const tokens = numPatches(config) + 1;
    if (config.maxSeqLen < tokens) throw new ConfigError('maxSeqLen', `${config.maxSeqLen} is too small for ${tokens - 1} patches + CLS; use at least ${tokens}`);
    return config;
  },
  flops: (config, { context }) => [
    // The tokens are patches: one linear map of each flattened patch to d.
    { module: 'embeddings.patch_embeddings', flops: 2 * config.numChannels * config.patchSize ** 2 * config.dModel },
    ...stackFlops(config, 'encoder', config.numEncoderLayers, context),
    { module: 'classifier', flops: 2 * config.dModel * config.numClasses },
  ],
  sizedWeights: (config) => ({
    'embeddings.patch_embeddings.weight': [config.dModel, config.numChannels * config.patchSize ** 2],
    ...stackSizedWeights(vitStack(config), 'encoder', config.numEncoderLayers),
    'classifier.weight': [config.numClasses, config.dModel],
  }),
  activations: (config, { context }) =>
    context * (config.numChannels * config.patchSize ** 2 + config.dModel) +
    stackActivations(vitStack(config), config.numEncoderLayers, context, context) +
    logitActivations(1, config.numClasses),
};

/**
 * The patches a ViT-style encoder reads: an image of imageHeight × imageWidth pixels (numChannels
 * each, row-major) cut into patchSize × patchSize patches, raw values times pixelScale. The
 * vit-classifier's is square; the vision-encoder-decoder's is not.
 */
export interface PatchGrid {
  imageHeight: number;
  imageWidth: number;
  patchSize: number;
  numChannels: number;
  pixelScale: number;
}

/** The vit-classifier's patch grid: a square image. */
export function vitPatchGrid(config: Pick<VitClassifierConfig, 'imageSize' | 'patchSize' | 'numChannels' | 'pixelScale'>): PatchGrid {
  return { imageHeight: config.imageSize, imageWidth: config.imageSize, patchSize: config.patchSize, numChannels: config.numChannels, pixelScale: config.pixelScale };
}

/** Patch tokens of a grid: rows × columns of patches. */
export function gridPatches(grid: PatchGrid): number {
  return (grid.imageHeight / grid.patchSize) * (grid.imageWidth / grid.patchSize);
}

/** Number of patch tokens, (imageSize / patchSize)². */
export function numPatches(config: Pick<VitClassifierConfig, 'imageSize' | 'patchSize'>): number {
  return (config.imageSize / config.patchSize) ** 2;
}

/**
 * The vit-classifier's encoder as a Transformer stack: learned positions, global attention, CLS
 * pooling — what the shared stack code (tfjs layers, ONNX graph builder) reads.
 */
export function vitStack(config: VitClassifierConfig): VitClassifierConfig & StackFields & { pooling: 'cls'; pooler: false; scaleEmbedding: true; embeddingNorm: false } {
  // scaleEmbedding: the learned positions start at std 1/√dModel, as they always have for this kind.
  return { ...config, positional: 'learned', localWindow: null, pooling: 'cls', pooler: false, scaleEmbedding: true, embeddingNorm: false };
}
