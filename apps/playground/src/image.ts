// A vision Transformer (vit-classifier export) in the page: the image the user paints on an
// S × S grid (raw pixel values 0 … 1/pixelScale, as the model was trained on), its class
// probabilities from one onnxruntime-web call, and its attention over the image — the CLS
// token's attention over the patch grid per layer and head, and attention rollout (Abnar &
// Zuidema, 2020, through @attend/core) — as labelled matrices for the heatmaps.

import { clsAttentionGrid, flatAttentionRollout, type ImageClassifierConfig, type VitClassifierConfig, classifierConfig } from '@attend/core';
import { asSession, classifications, ImageClassifierSession, type Classification, type OnnxModel, type OutputTensor } from '@attend/runtime-onnx';
import { layerAttentions, type Matrix } from './heatmap.js';

export interface ImageResult {
  label: number;
  probabilities: Float32Array;
  /** Milliseconds of the session call. */
  ms: number;
  /** Per layer: attention [H, T, T] (T = patches + CLS), when exported with attention. */
  layers: Float32Array[];
  /** The graph's outputs besides the logits (attentions.{i}, an STN's theta and transformed, a glimpse model's locations). */
  outputs: Record<string, OutputTensor>;
}

/** The largest raw pixel value the model expects (1 / pixelScale). */
export function pixelMax(config: Pick<ImageClassifierConfig, 'pixelScale'>): number {
  return 1 / config.pixelScale;
}

/** Classifies one image [C, S, S] (raw values) with the export's graph. */
export async function classifyImage(model: OnnxModel, pixels: Float32Array): Promise<ImageResult> {
  const started = performance.now();
  const out = await asSession(model, ImageClassifierSession).runImages(pixels, 1);
  const ms = performance.now() - started;
  const [{ label, probabilities }] = classifications(out.logits.data, 1, classifierConfig(model.config, 'classify an image').numClasses) as [Classification];
  return { label, probabilities, ms, layers: layerAttentions(out.attentions).map((layer) => layer.data), outputs: out.attentions };
}

function gridMatrix(config: VitClassifierConfig, values: ArrayLike<number>): Matrix {
  const G = config.imageSize / config.patchSize;
  return {
    rows: G,
    cols: G,
    values: Float32Array.from(values),
    rowLabels: Array.from({ length: G }, (_, r) => `r${r}`),
    colLabels: Array.from({ length: G }, (_, c) => String(c)),
  };
}

/** The CLS token's attention over the patch grid [G, G] in one layer and head. */
export function clsMatrix(config: VitClassifierConfig, result: ImageResult, layer: number, head: number): Matrix {
  const a = result.layers[layer];
  if (!a) throw new RangeError(`no attention for layer ${layer}`);
  const T = (config.imageSize / config.patchSize) ** 2 + 1;
  if (head < 0 || head >= config.numHeads) throw new RangeError(`head ${head} is outside [0, ${config.numHeads})`);
  return gridMatrix(config, a.subarray(head * T * T + 1, head * T * T + T));
}

/** Attention rollout of the CLS token through every layer, over the patch grid [G, G]. */
export function rolloutMatrix(config: VitClassifierConfig, result: ImageResult): Matrix {
  return gridMatrix(config, clsAttentionGrid(flatAttentionRollout(result.layers, config.numHeads)).flat());
}

/** The painted image as a matrix for display (channels averaged, scaled to 0 … 1). */
export function imageMatrix(config: Pick<ImageClassifierConfig, 'imageSize' | 'numChannels' | 'pixelScale'>, pixels: Float32Array): Matrix {
  const S = config.imageSize;
  const C = config.numChannels;
  const top = pixelMax(config);
  const values = new Float32Array(S * S);
  for (let c = 0; c < C; c++) for (let i = 0; i < S * S; i++) values[i]! += pixels[c * S * S + i]! / (C * top);
  return { rows: S, cols: S, values, rowLabels: Array.from({ length: S }, (_, r) => String(r)), colLabels: Array.from({ length: S }, (_, c) => String(c)) };
}

/** A canvas to paint: a square classifier's image [C, S, S], or a captioner's grey scene [H, W]. */
export type PaintCanvas = Pick<ImageClassifierConfig, 'imageSize' | 'numChannels' | 'pixelScale'> | { imageHeight: number; imageWidth: number; pixelScale: number };

/**
 * Paints a brush stroke at cell (row, col) of every channel: the cell at full value, its four
 * neighbours raised to at least half (a soft pen, like a digitised stroke). Returns the new image.
 */
export function paint(config: PaintCanvas, pixels: Float32Array, row: number, col: number): Float32Array {
  const [H, W, C] = 'imageSize' in config ? [config.imageSize, config.imageSize, config.numChannels] : [config.imageHeight, config.imageWidth, 1];
  const top = pixelMax(config);
  const out = pixels.slice();
  const set = (r: number, c: number, v: number): void => {
    if (r < 0 || c < 0 || r >= H || c >= W) return;
    for (let ch = 0; ch < C; ch++) out[ch * H * W + r * W + c] = Math.max(out[ch * H * W + r * W + c]!, v);
  };
  set(row, col, top);
  for (const [dr, dc] of [[1, 0], [-1, 0], [0, 1], [0, -1]] as const) set(row + dr, col + dc, top / 2);
  return out;
}
