// The plain classifier on a whole canvas, the where-to-look baseline: the image (raw values
// times pixelScale), optionally through convolution blocks (convChannels: each a 3 × 3
// convolution with zero padding, a ReLU and a 2 × 2 max-pool — a small CNN), flattened in
// [C, H, W] order, then numHiddenLayers ReLU layers of width dModel and a linear map to the
// classes. With no blocks (the default, and every config written before blocks existed) it is
// an MLP. The stn-classifier runs the same network on its sampler's output.

import { ConfigError } from '../../errors.js';
import type { ModuleFlops } from '../../flops.js';
import type { ModelKind } from '../kind.js';
import { BASE_FIELDS, baseFields, classes, describe, int, positive, type BaseFields, type Raw } from '../fields.js';
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
  /** Output channels of each convolution block before the MLP (3 × 3 conv, ReLU, 2 × 2 max-pool); [] for none. */
  convChannels: number[];
}

export interface CanvasClassifierConfig extends BaseFields, ImageFields, MlpFields {
  preset: 'canvas-classifier';
}

export const IMAGE_FIELDS = ['numClasses', 'imageSize', 'numChannels', 'pixelScale'] as const;
/** The MLP fields after the image fields, as config.json lists them. */
export const MLP_FIELDS = [...BASE_FIELDS, 'numHiddenLayers', 'convChannels'] as const;
/** The MLP fields added after the first configs were written, with what those configs meant. */
export const MLP_LATER_FIELDS = { convChannels: [] } as const;
/** Kernel side of a convolution block, and the side of its max-pool window (and stride). */
export const CONV_KERNEL = 3;
export const CONV_POOL = 2;
/** At most this many convolution blocks. */
const MAX_CONV_BLOCKS = 4;

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
    convChannels: convChannels(v, 'convChannels'),
  };
}

/** The checked list of convolution block channels in `v[field]` (`convChannels`, or the STN's `locConvChannels`). */
export function convChannels(v: Raw, field: string): number[] {
  const x = v[field];
  if (!Array.isArray(x) || x.length > MAX_CONV_BLOCKS || x.some((c) => typeof c !== 'number' || !Number.isSafeInteger(c) || c < 1)) {
    throw new ConfigError(field, `${describe(x)} is not allowed; expected a list of at most ${MAX_CONV_BLOCKS} integers >= 1 (channels of each convolution block)`);
  }
  return [...x] as number[];
}

/** A convolution block's input side, channels and output channels, for an image of `side` pixels with `channels` channels. */
export interface ConvBlock {
  side: number;
  inChannels: number;
  outChannels: number;
}

/** The convolution blocks over an image of side × side × channels, input first. */
export function convBlocks(config: Pick<MlpFields, 'convChannels'>, side: number, channels: number): ConvBlock[] {
  const blocks: ConvBlock[] = [];
  for (const out of config.convChannels) {
    blocks.push({ side, inChannels: channels, outChannels: out });
    side = Math.floor(side / CONV_POOL);
    channels = out;
  }
  return blocks;
}

/** Values the convolution blocks hand to the MLP, C·H·W after the last pool (the image's own values with no blocks). */
export function convOutputValues(config: Pick<MlpFields, 'convChannels'>, side: number, channels: number): number {
  const blocks = convBlocks(config, side, channels);
  const last = blocks[blocks.length - 1];
  return last ? last.outChannels * Math.floor(last.side / CONV_POOL) ** 2 : channels * side ** 2;
}

/** Checks that every block's input is at least one pool window wide; `field` names the image side, `channelsField` the block list. */
export function checkConvBlocks(config: Pick<MlpFields, 'convChannels'>, side: number, field: string, channelsField = 'convChannels'): void {
  const tooSmall = convBlocks(config, side, 1).findIndex((b) => b.side < CONV_POOL);
  if (tooSmall >= 0) throw new ConfigError(channelsField, `${config.convChannels.length} blocks halve ${field}=${side} below ${CONV_POOL} pixels at block ${tooSmall + 1}; use fewer blocks`);
}

/** Weight names of convolution block `i` under `prefix`: `{prefix}.convs.{i}`. */
export function convLayerName(prefix: string, i: number): string {
  return `${prefix}.convs.${i}`;
}

/** Forward FLOPs of the blocks (2·k²·Cin·Cout per output value of each conv, the pool's compares left out). */
export function convFlops(prefix: string, blocks: readonly ConvBlock[]): ModuleFlops[] {
  return blocks.map((b, i) => ({ module: convLayerName(prefix, i), flops: 2 * CONV_KERNEL ** 2 * b.inChannels * b.outChannels * b.side ** 2 }));
}

/** Weight shapes of the blocks, PyTorch's [Cout, Cin, k, k]. */
export function convSizedWeights(prefix: string, blocks: readonly ConvBlock[]): Record<string, number[]> {
  return Object.fromEntries(blocks.map((b, i) => [`${convLayerName(prefix, i)}.weight`, [b.outChannels, b.inChannels, CONV_KERNEL, CONV_KERNEL]]));
}

/** Values one example keeps for the backward pass through the blocks: each block's input, conv output and pooled output. */
export function convActivations(blocks: readonly ConvBlock[]): number {
  return blocks.reduce((n, b) => n + b.inChannels * b.side ** 2 + 2 * b.outChannels * b.side ** 2 + b.outChannels * Math.floor(b.side / CONV_POOL) ** 2, 0);
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

const canvasBlocks = (config: CanvasClassifierConfig): ConvBlock[] => convBlocks(config, config.imageSize, config.numChannels);
const canvasWidths = (config: CanvasClassifierConfig): number[] => mlpWidths(config, convOutputValues(config, config.imageSize, config.numChannels));

export const canvasClassifier: ModelKind<CanvasClassifierConfig> = {
  preset: 'canvas-classifier',
  task: 'image-classification',
  description: 'MLP or small CNN classifier on the whole canvas (the where-to-look baseline)',
  fields: ['preset', ...IMAGE_FIELDS, ...MLP_FIELDS],
  laterFields: MLP_LATER_FIELDS,
  // A 32 × 32 single-channel canvas (the cluttered-digits task), digits8x8 values 0–16.
  defaults: () => ({ preset: 'canvas-classifier', imageSize: 32, numChannels: 1, pixelScale: 1 / 16, dModel: 128, maxSeqLen: 1, dropout: 0.1, numHiddenLayers: 2, convChannels: [] }),
  hfConfig: canvasConfig,
  validate(v) {
    const config: CanvasClassifierConfig = { preset: 'canvas-classifier', ...imageMlpFields(v) };
    checkConvBlocks(config, config.imageSize, 'imageSize');
    return config;
  },
  flops: (config) => [...convFlops('classifier', canvasBlocks(config)), ...mlpFlops('classifier', canvasWidths(config))],
  sizedWeights: (config) => ({ ...convSizedWeights('classifier', canvasBlocks(config)), ...mlpSizedWeights('classifier', canvasWidths(config)) }),
  activations: (config) => convActivations(canvasBlocks(config)) + mlpActivations(canvasWidths(config)),
};
