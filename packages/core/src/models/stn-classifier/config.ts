// The spatial transformer network (Jaderberg et al., NIPS 2015) on a canvas: a localisation
// network (locConvChannels convolution blocks, none by default, then one ReLU layer of width
// locHiddenSize on the flattened canvas or feature maps) regresses an affine
// map θ (2 × 3, initialised to the identity), the sampling grid of an outputSize × outputSize
// image is θ applied to its normalised coordinates, the canvas is read there by bilinear
// interpolation, and the canvas-classifier's network (MLP, or CNN with convChannels)
// classifies the transformed image.

import { ConfigError } from '../../errors.js';
import type { ModelKind } from '../kind.js';
import { int, oneOf } from '../fields.js';
import {
  checkConvBlocks,
  convActivations,
  convChannels,
  convBlocks,
  convFlops,
  convOutputValues,
  convSizedWeights,
  IMAGE_FIELDS,
  imageMlpFields,
  MLP_FIELDS,
  MLP_LATER_FIELDS,
  mlpActivations,
  mlpFlops,
  mlpSizedWeights,
  mlpWidths,
  type CanvasClassifierConfig,
  type MlpFields,
  type ConvBlock,
} from '../canvas-classifier/config.js';
import { stnConfig } from './hf.js';

export interface StnClassifierConfig extends Omit<CanvasClassifierConfig, 'preset'> {
  preset: 'stn-classifier';
  /** Side of the sampler's output, the image the classifier sees. */
  outputSize: number;
  /** Width of the localisation network's hidden layer. */
  locHiddenSize: number;
  /** Output channels of the localisation network's convolution blocks on the canvas (as convChannels); [] for an MLP. */
  locConvChannels: number[];
  /** What the localisation network regresses: a free affine θ (6 values), or `attention`, a zoom and shift (s, tx, ty). */
  stnTransform: StnTransformKind;
}

/** The localisation network's outputs: `affine` θ's six values; `attention` (Jaderberg et al. §4) θ = [[s, 0, tx], [0, s, ty]]. */
export const STN_TRANSFORMS = ['affine', 'attention'] as const;
export type StnTransformKind = (typeof STN_TRANSFORMS)[number];

/** Parameters of the affine map θ, row-major [[a, b, tx], [c, d, ty]]. */
export const THETA_SIZE = 6;
/** θ of the identity map, the localisation network's initial output. */
export const IDENTITY_THETA = [1, 0, 0, 0, 1, 0] as const;
/** The attention transform's (s, tx, ty) of the identity map. */
const IDENTITY_ATTENTION = [1, 0, 0] as const;

/** The localisation network's initial output, the identity map in its transform's parameters. */
export function identityParams(config: Pick<StnClassifierConfig, 'stnTransform'>): readonly number[] {
  return config.stnTransform === 'attention' ? IDENTITY_ATTENTION : IDENTITY_THETA;
}

/**
 * The matrix [n, 6] that maps the localisation network's n outputs (a row) to θ's six values,
 * θ = p · M; undefined for `affine`, whose outputs are θ. For `attention` (s, tx, ty) ↦
 * [s, 0, tx, 0, s, ty]: a linear map, so θ's gradient reaches the network through its transpose.
 */
export function thetaMatrix(config: Pick<StnClassifierConfig, 'stnTransform'>): number[][] | undefined {
  if (config.stnTransform !== 'attention') return undefined;
  return [
    [1, 0, 0, 0, 1, 0],
    [0, 0, 1, 0, 0, 0],
    [0, 0, 0, 0, 0, 1],
  ];
}

/**
 * The localisation network as an image network (the classifier's building blocks): the
 * locConvChannels blocks on the canvas, one ReLU layer of locHiddenSize, θ's six values (the
 * attention transform's three).
 */
export function locNet(config: StnClassifierConfig): Pick<CanvasClassifierConfig, keyof MlpFields | 'dModel' | 'numClasses'> {
  return { convChannels: config.locConvChannels, dModel: config.locHiddenSize, numHiddenLayers: 1, numClasses: identityParams(config).length };
}

/** The localisation network's convolution blocks on the canvas. */
export function locBlocks(config: StnClassifierConfig): ConvBlock[] {
  return convBlocks(locNet(config), config.imageSize, config.numChannels);
}

/** Widths of the localisation network's MLP: canvas (or its feature maps) → locHiddenSize → θ. */
export function locWidths(config: StnClassifierConfig): number[] {
  return mlpWidths(locNet(config), convOutputValues(locNet(config), config.imageSize, config.numChannels));
}

/**
 * The canvas pixel coordinates (x right, y down; 0 … S at the canvas edges) of the sampler's
 * output corners under θ (row-major [[a, b, tx], [c, d, ty]]), closed, in drawing order: the
 * quadrilateral the spatial transformer read (a square when θ only zooms and shifts). What
 * `attend attention` and the playground draw.
 */
export function samplingQuadrilateral(theta: ArrayLike<number>, size: number): { x: number; y: number }[] {
  const [a, b, tx, c, d, ty] = Array.from(theta);
  // align_corners = false: −1 and 1 are the outer edges of the first and last pixels.
  return [[-1, -1], [1, -1], [1, 1], [-1, 1], [-1, -1]].map(([u, v]) => ({
    x: ((a! * u! + b! * v! + tx! + 1) * size) / 2,
    y: ((c! * u! + d! * v! + ty! + 1) * size) / 2,
  }));
}

/** Widths of the classifier's MLP on the sampler's output (after its convolution blocks, if any). */
export function stnClassifierWidths(config: StnClassifierConfig): number[] {
  return mlpWidths(config, convOutputValues(config, config.outputSize, config.numChannels));
}

/** The classifier's convolution blocks on the sampler's output. */
export function stnClassifierBlocks(config: StnClassifierConfig): ConvBlock[] {
  return convBlocks(config, config.outputSize, config.numChannels);
}

export const stnClassifier: ModelKind<StnClassifierConfig> = {
  preset: 'stn-classifier',
  task: 'image-classification',
  description: 'spatial transformer (affine θ, bilinear sampler) then the canvas MLP classifier',
  fields: ['preset', ...IMAGE_FIELDS, ...MLP_FIELDS, 'outputSize', 'locHiddenSize', 'locConvChannels', 'stnTransform'],
  laterFields: { ...MLP_LATER_FIELDS, locConvChannels: [], stnTransform: 'affine' },
  defaults: () => ({ preset: 'stn-classifier', imageSize: 32, numChannels: 1, pixelScale: 1 / 16, dModel: 128, maxSeqLen: 1, dropout: 0.1, numHiddenLayers: 2, convChannels: [], outputSize: 16, locHiddenSize: 32, locConvChannels: [], stnTransform: 'affine' }),
  hfConfig: stnConfig,
  validate(v) {
    const config: StnClassifierConfig = {
      preset: 'stn-classifier',
      ...imageMlpFields(v),
      outputSize: int(v, 'outputSize', 1),
      locHiddenSize: int(v, 'locHiddenSize', 1),
      locConvChannels: convChannels(v, 'locConvChannels'),
      stnTransform: oneOf(v, 'stnTransform', STN_TRANSFORMS),
    };
    if (config.outputSize > config.imageSize) throw new ConfigError('outputSize', `${config.outputSize} is larger than imageSize=${config.imageSize}; the sampler reads a smaller image`);
    checkConvBlocks(config, config.outputSize, 'outputSize');
    checkConvBlocks(locNet(config), config.imageSize, 'imageSize', 'locConvChannels');
    return config;
  },
  flops: (config) => [
    ...convFlops('localization', locBlocks(config)),
    ...mlpFlops('localization', locWidths(config)),
    // θ from the attention transform's (s, tx, ty): a [1, 3] × [3, 6] product. Grid: 2 outputs × 3
    // products per output pixel; sampler: 4 corners × (weight product + multiply-add) per value.
    { module: 'sampler', flops: (thetaMatrix(config) ? 2 * 3 * THETA_SIZE : 0) + config.outputSize ** 2 * (2 * 2 * 3 + config.numChannels * 4 * 3) },
    ...convFlops('classifier', stnClassifierBlocks(config)),
    ...mlpFlops('classifier', stnClassifierWidths(config)),
  ],
  sizedWeights: (config) => ({ ...convSizedWeights('localization', locBlocks(config)), ...mlpSizedWeights('localization', locWidths(config)), ...convSizedWeights('classifier', stnClassifierBlocks(config)), ...mlpSizedWeights('classifier', stnClassifierWidths(config)) }),
  // The localisation network's blocks, its MLP's inputs and hidden layer, θ, then the grid and the sampled image.
  activations: (config) =>
    convActivations(locBlocks(config)) + 2 * (locWidths(config)[0]! + config.locHiddenSize) + identityParams(config).length + (thetaMatrix(config) ? THETA_SIZE : 0) + config.outputSize ** 2 * (2 + config.numChannels) + convActivations(stnClassifierBlocks(config)) + mlpActivations(stnClassifierWidths(config)),
};
