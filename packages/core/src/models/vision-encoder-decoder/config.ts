// The Transformer captioner (the vision-encoder-decoder shape of TrOCR and ViT-GPT2): the image is
// cut into square patches, embedded as the vit-classifier embeds them (one linear map, a learned
// CLS token, learned positions) and run through a Transformer encoder; the encoder-decoder's
// decoder (causal self-attention, cross-attention over the CLS + patch states, a vocabulary head)
// writes the caption.
//
// A kind of its own rather than a fourth `visualAttention` of the image-captioner: it shares
// none of the LSTM captioner's fields (convolution, feature size, penalty, REINFORCE) and has
// all of the Transformer stacks' fields, and it exports in another layout (transformers.js's
// VisionEncoderDecoderModel rather than attend's own). It trains on the same data (digit
// scenes) and is asked for there by `--captioner transformer`.
//
// Its two halves are the existing kinds' own code: `patchEncoderStack` (the ViT encoder over a
// rectangular grid) and `captionDecoderConfig` (the encoder-decoder config whose decoder it runs).

import type { CaptionLayout } from '../../caption-figure.js';
import { ConfigError } from '../../errors.js';
import type { ModelKind } from '../kind.js';
import { encoderDecoder, type EncoderDecoderConfig } from '../encoder-decoder/config.js';
import { TRANSFORMER_DEFAULTS } from '../encoder-classifier/config.js';
import {
  BASE_FIELDS, EMBEDDING_FIELDS, STACK_FIELDS, TOKEN_FIELDS, int, positive,
  type BaseFields, type EmbeddingFields, type StackFields, type TiedFields, type TokenFields,
} from '../fields.js';
import { logitActivations, stackActivations, stackFlops, stackSizedWeights } from '../stack.js';
import { visionEncoderDecoderConfig } from './hf.js';
import type { PatchGrid } from '../vit-classifier/config.js';

export interface VisionEncoderDecoderConfig extends BaseFields, TokenFields, StackFields, EmbeddingFields, TiedFields {
  preset: 'vision-encoder-decoder';
  numEncoderLayers: number;
  numDecoderLayers: number;
  /** Image height and width in pixels (one channel, row-major); patchSize divides both. */
  imageHeight: number;
  imageWidth: number;
  /** Side of a square patch. */
  patchSize: number;
  /** Factor the model applies to raw pixel values (1 for values in [0, 1], 1/255 for bytes). */
  pixelScale: number;
}

export const visionEncoderDecoder: ModelKind<VisionEncoderDecoderConfig> = {
  preset: 'vision-encoder-decoder',
  task: 'image-to-text',
  description: 'Transformer captioner: ViT encoder over image patches, Transformer decoder with cross-attention',
  fields: ['preset', ...TOKEN_FIELDS, ...BASE_FIELDS, ...STACK_FIELDS, 'numEncoderLayers', 'numDecoderLayers', ...EMBEDDING_FIELDS, 'tieEmbeddings', 'imageHeight', 'imageWidth', 'patchSize', 'pixelScale'],
  laterFields: {},
  // 24 × 48 digit scenes in 4 × 4 patches: a 6 × 12 grid, 72 patches + CLS; captions of up to 4 words + bos/eos.
  defaults: () => ({
    preset: 'vision-encoder-decoder',
    ...TRANSFORMER_DEFAULTS,
    dModel: 64,
    dFf: 128,
    maxSeqLen: 8,
    positional: 'learned',
    numEncoderLayers: 2,
    numDecoderLayers: 2,
    tieEmbeddings: true,
    imageHeight: 24,
    imageWidth: 48,
    patchSize: 4,
    pixelScale: 1,
  }),
  hfConfig: visionEncoderDecoderConfig,
  validate(v) {
    // The encoder-decoder's fields, checked as that kind checks them (its Marian logits bias is not one of this kind's).
    const { preset: _p, logitsBias: _b, ...transformer } = encoderDecoder.validate({ ...v, logitsBias: false });
    const config: VisionEncoderDecoderConfig = {
      preset: 'vision-encoder-decoder',
      ...transformer,
      imageHeight: int(v, 'imageHeight', 1),
      imageWidth: int(v, 'imageWidth', 1),
      patchSize: int(v, 'patchSize', 1),
      pixelScale: positive(v, 'pixelScale'),
    };
    if (config.imageHeight % config.patchSize !== 0 || config.imageWidth % config.patchSize !== 0) {
      throw new ConfigError('patchSize', `${config.patchSize} does not divide the image of ${config.imageHeight} × ${config.imageWidth}; choose a common divisor`);
    }
    if (config.maxSeqLen < 2) throw new ConfigError('maxSeqLen', `${config.maxSeqLen} leaves no room for a word after the start token; use at least 2`);
    return config;
  },
  flops: (config, { context }) => {
    const encoder = patchEncoderStack(config);
    const N = encoder.maxSeqLen;
    // The encoder runs once per image; counted per word over an average caption of maxSeqLen/2.
    const perWord = Math.max(1, config.maxSeqLen / 2);
    return [
      { module: 'embeddings.patch_embeddings', flops: ((N - 1) * 2 * config.patchSize ** 2 * config.dModel) / perWord },
      ...stackFlops(encoder, 'encoder', config.numEncoderLayers, N).map((m) => ({ ...m, flops: (m.flops * N) / perWord })),
      ...stackFlops(config, 'decoder', config.numDecoderLayers, context, N),
      { module: 'lm_head', flops: 2 * config.dModel * config.vocabSize },
    ];
  },
  sizedWeights: (config) => ({
    'embed_tokens.weight': [config.vocabSize, config.dModel],
    'embeddings.patch_embeddings.weight': [config.dModel, config.patchSize ** 2],
    ...stackSizedWeights(patchEncoderStack(config), 'encoder', config.numEncoderLayers),
    ...stackSizedWeights(config, 'decoder', config.numDecoderLayers),
  }),
  activations: (config, { context }) => {
    const N = patchEncoderStack(config).maxSeqLen;
    return (
      N * (config.patchSize ** 2 + config.dModel) +
      stackActivations(config, config.numEncoderLayers, N, N) +
      context * config.dModel +
      stackActivations(config, config.numDecoderLayers, context, context, N) +
      logitActivations(context, config.vocabSize)
    );
  },
};

/** The patch grid of the encoder: one channel, the config's image and patch sizes. */
export function captionPatchGrid(config: VisionEncoderDecoderConfig): PatchGrid {
  return { imageHeight: config.imageHeight, imageWidth: config.imageWidth, patchSize: config.patchSize, numChannels: 1, pixelScale: config.pixelScale };
}

/** How the cross-attention maps onto the scene (`attend attention`, the playground): one location per patch, after the encoder's CLS state (left out). */
export function patchAttentionLayout(config: VisionEncoderDecoderConfig): CaptionLayout {
  const { imageHeight, imageWidth, patchSize } = captionPatchGrid(config);
  return { grid: { rows: imageHeight / patchSize, cols: imageWidth / patchSize, window: patchSize, stride: patchSize }, hard: false, leading: 1 };
}

/**
 * The encoder as the vit-classifier's stack reads it: learned positions over the patches + CLS
 * (maxSeqLen N + 1), global attention, the same layer fields as the decoder.
 */
export function patchEncoderStack(config: VisionEncoderDecoderConfig): VisionEncoderDecoderConfig & { positional: 'learned'; localWindow: null; scaleEmbedding: true; embeddingNorm: false } {
  const grid = captionPatchGrid(config);
  const patches = (grid.imageHeight / grid.patchSize) * (grid.imageWidth / grid.patchSize);
  return { ...config, maxSeqLen: patches + 1, positional: 'learned', localWindow: null, scaleEmbedding: true, embeddingNorm: false };
}

/** The encoder-decoder config whose decoder (token table, decoder stack, LM head) writes the captions. */
export function captionDecoderConfig(config: VisionEncoderDecoderConfig): EncoderDecoderConfig {
  const { preset: _p, imageHeight: _h, imageWidth: _w, patchSize: _s, pixelScale: _x, lora: _l, ...decoder } = config as VisionEncoderDecoderConfig & { lora?: unknown };
  return { ...decoder, preset: 'encoder-decoder', logitsBias: false };
}
