// The plain classifier on a whole canvas, the where-to-look baseline: the image (raw values
// times pixelScale) flattened, numHiddenLayers ReLU layers of width dModel, a linear map to the
// classes. An MLP rather than a CNN: attend's tfjs training runs on the wasm backend, which has
// no Conv2DBackpropFilter kernel (the gradient of a convolution's filters). The stn-classifier runs the same network on its sampler's output.

import { ConfigError } from '../../errors.js';
import type { ModuleFlops } from '../../flops.js';
import type { ModelKind } from '../kind.js';
import { BASE_FIELDS, baseFields, classes, int, positive, type BaseFields, type Raw } from '../fields.js';
import { logitActivations } from '../stack.js';
import { canvasConfig } from './hf.js';

/** The fields of an image classifier's input and head (shared by the canvas and STN kinds). */
export interface ImageFields {
  numClasses: number;
  /** Side of the square input image, in pixels. */
  imageSize: number;
  /** Channels per pixel (images are [C, H, W] row-major). */
  numChannels: number;
  /** Factor applied to raw pixel values first (1/16 for digits8x8 values), so inputs are the values as stored. */
  pixelScale: number;
}

/** The fields of the MLP classifier (its hidden width is dModel). */
export interface MlpFields {
  /** ReLU layers of width dModel before the linear map to the classes; at least 1. */
  numHiddenLayers: number;
}

export interface CanvasClassifierConfig extends BaseFields, ImageFields, MlpFields {
  preset: 'canvas-classifier';
}

export const IMAGE_FIELDS = ['numClasses', 'imageSize', 'numChannels', 'pixelScale'] as const;
/** The MLP fields after the image fields, as config.json lists them. */
export const MLP_FIELDS = [...BASE_FIELDS, 'numHiddenLayers'] as const;

/** The checked image and MLP fields of `v`; maxSeqLen must be 1 (one image is one example). */
export function imageMlpFields(v: Raw): BaseFields & ImageFields & MlpFields {
  const base = baseFields(v);
  if (base.maxSeqLen !== 1) throw new ConfigError('maxSeqLen', `${base.maxSeqLen} is not allowed; an image classifier reads one image, use 1`);
  return {
    ...base,
    numClasses: classes(v),
    imageSize: int(v, 'imageSize', 1),
    numChannels: int(v, 'numChannels', 1),
    pixelScale: positive(v, 'pixelScale'),
    numHiddenLayers: int(v, 'numHiddenLayers', 1),
  };
}

/** The widths of the MLP's linear maps, input first: [in, d, …, d, classes]. */
export function mlpWidths(config: Pick<CanvasClassifierConfig, 'dModel' | 'numHiddenLayers' | 'numClasses'>, inputs: number): number[] {
  return [inputs, ...Array<number>(config.numHiddenLayers).fill(config.dModel), config.numClasses];
}

/** The name of linear map `i` of an MLP whose weights start with `prefix`: `{prefix}.layers.{i}`, the last `{prefix}.out`. */
export function mlpLayerName(prefix: string, i: number, count: number): string {
  return i === count - 1 ? `${prefix}.out` : `${prefix}.layers.${i}`;
}

/** Forward FLOPs of an MLP of these widths (2·in·out per linear map), one module per map. */
export function mlpFlops(prefix: string, widths: readonly number[]): ModuleFlops[] {
  return widths.slice(1).map((out, i) => ({ module: mlpLayerName(prefix, i, widths.length - 1), flops: 2 * widths[i]! * out }));
}

/** Weight shapes [out, in] of an MLP of these widths. */
export function mlpSizedWeights(prefix: string, widths: readonly number[]): Record<string, number[]> {
  return Object.fromEntries(widths.slice(1).map((out, i) => [`${mlpLayerName(prefix, i, widths.length - 1)}.weight`, [out, widths[i]!]]));
}

/** Values one example keeps for the backward pass: each map's input and pre-activation output. */
export function mlpActivations(widths: readonly number[]): number {
  return widths.slice(0, -1).reduce((n, w) => n + 2 * w, 0) + logitActivations(1, widths[widths.length - 1]!);
}

/** Pixels of one input image, C·S·S. */
export function imageValues(config: Pick<ImageFields, 'imageSize' | 'numChannels'>): number {
  return config.numChannels * config.imageSize ** 2;
}

const canvasWidths = (config: CanvasClassifierConfig): number[] => mlpWidths(config, imageValues(config));

export const canvasClassifier: ModelKind<CanvasClassifierConfig> = {
  preset: 'canvas-classifier',
  task: 'image-classification',
  description: 'MLP classifier on the whole canvas (the where-to-look baseline)',
  fields: ['preset', ...IMAGE_FIELDS, ...MLP_FIELDS],
  laterFields: {},
  // A 32 × 32 single-channel canvas (the cluttered-digits task), digits8x8 values 0–16.
  defaults: () => ({ preset: 'canvas-classifier', imageSize: 32, numChannels: 1, pixelScale: 1 / 16, dModel: 128, maxSeqLen: 1, dropout: 0.1, numHiddenLayers: 2 }),
  hfConfig: canvasConfig,
  validate: (v) => ({ preset: 'canvas-classifier', ...imageMlpFields(v) }),
  flops: (config) => mlpFlops('classifier', canvasWidths(config)),
  sizedWeights: (config) => mlpSizedWeights('classifier', canvasWidths(config)),
  activations: (config) => mlpActivations(canvasWidths(config)),
};
