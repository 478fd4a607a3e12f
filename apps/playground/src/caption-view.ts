// A captioner (image-captioner or vision-encoder-decoder export) in the page: the scene the
// user paints on the model's H × W canvas, its greedy caption from onnxruntime-web, and per word
// its attention over the scene — core's captionWithAttention over the export's Translator (as
// `attend attention` reads it: the decoding loop's own cross-attention outputs) laid on the
// kind's grid (PLAYGROUND_KINDS' `caption`: the LSTM's windows, or the patches after CLS), one
// heatmap per word with the colour legend and the weight under the pointer, the scene drawn over it.

import { captionWithAttention, upsampleAttention, type AttentionPick, type CaptionAttentionRow, type ImageToTextConfig, type Tokenizer } from '@attend/core';
import { onnxCaptioner, type CaptionRunOptions, type OnnxModel } from '@attend/runtime-onnx';
import { drawHeatmap, heatmapLayout, mapFigure, type Matrix } from './heatmap.js';
import { playgroundKind } from './models/registry.js';

/** A caption with each word's attention over the scene, and the milliseconds it took. */
export interface CaptionResult extends CaptionAttentionRow {
  output: string;
  ms: number;
}

/** The caption of `pixels` ([H, W] raw values) by the export's two sessions, with each word's attention over the grid (`pick`: a layer and head; `options`: a hard captioner's reading). */
export async function captionScene(sessions: { encoder: OnnxModel; decoder: OnnxModel }, tokenizer: Tokenizer, pixels: Float32Array, pick: AttentionPick = {}, options: CaptionRunOptions = {}): Promise<CaptionResult> {
  const config = sessions.decoder.config as ImageToTextConfig;
  const layout = playgroundKind(config).caption?.(config, options.hardInference);
  if (!layout) throw new Error(`a ${config.preset} does not caption images`);
  const started = performance.now();
  const { output, words, alphas } = await captionWithAttention(onnxCaptioner(sessions, options), { pixels, batchSize: 1 }, config, tokenizer, layout, pick);
  const ms = performance.now() - started;
  if (alphas.some((a) => a === undefined)) throw new Error(`caption "${output}": this export has no attention outputs (Show and Tell has none; a Transformer captioner needs --with-attention)`);
  return { output, ms, pixels, height: config.imageHeight, width: config.imageWidth, grid: layout.grid, label: `"${output}"`, words, alphas: alphas as Float32Array[], hard: layout.hard };
}

/** Word `t`'s attention spread over the scene's pixels, as a matrix [H, W] for the heatmap. */
export function wordMatrix(row: CaptionAttentionRow, t: number): Matrix {
  const { height, width } = row;
  return {
    rows: height,
    cols: width,
    values: upsampleAttention(row.alphas[t]!, row.grid, height, width),
    rowLabels: Array.from({ length: height }, (_, r) => `y${r}`),
    colLabels: Array.from({ length: width }, (_, c) => `x${c}`),
  };
}

/** One panel per word into `box` (drawCaptionPanel each). */
export function drawCaptionPanels(box: HTMLElement, row: CaptionAttentionRow, pixelMax: number, cell = 6): void {
  row.words.forEach((_, t) => drawCaptionPanel(box, row, t, pixelMax, cell));
}

/** Word `t`'s panel into `box`: its attention over the scene (legend, weight under the pointer; `data-alpha` holds α over the grid), the scene's strokes drawn over it. */
export function drawCaptionPanel(box: HTMLElement, row: CaptionAttentionRow, t: number, pixelMax: number, cell = 6): void {
  const word = row.words[t]!;
  const { figure, canvas } = mapFigure(`${t + 1}. ${word}${row.hard ? ' (location taken outlined)' : ''}`);
  box.append(figure);
  const m = wordMatrix(row, t);
  const options = { cell, minLabelCell: Infinity, scale: 'relative' as const };
  drawHeatmap(canvas, m, options);
  const ctx = canvas.getContext('2d');
  if (ctx) {
    const { left, top } = heatmapLayout(m, options, () => 0);
    const dpr = globalThis.devicePixelRatio || 1;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    for (let i = 0; i < row.height * row.width; i++) {
      const v = Number(row.pixels[i]) / pixelMax;
      if (v <= 0) continue;
      ctx.fillStyle = `rgba(0,0,0,${(0.6 * Math.min(1, v)).toFixed(3)})`;
      ctx.fillRect(left + (i % row.width) * cell, top + Math.floor(i / row.width) * cell, cell, cell);
    }
    if (row.hard) {
      const alpha = Array.from(row.alphas[t]!);
      const at = alpha.indexOf(Math.max(...alpha));
      ctx.strokeStyle = '#d62728';
      ctx.lineWidth = 2;
      ctx.strokeRect(left + (at % row.grid.cols) * row.grid.stride * cell, top + Math.floor(at / row.grid.cols) * row.grid.stride * cell, row.grid.window * cell, row.grid.window * cell);
    }
  }
  canvas.dataset.word = word;
  canvas.dataset.alpha = Array.from(row.alphas[t]!).join(' ');
}

/** The painted scene [H, W] (raw values) as a matrix for display, scaled to 0 … 1. */
export function sceneMatrix(config: { imageHeight: number; imageWidth: number; pixelScale: number }, pixels: Float32Array): Matrix {
  const [H, W] = [config.imageHeight, config.imageWidth];
  return { rows: H, cols: W, values: Float32Array.from(pixels, (v) => v * config.pixelScale), rowLabels: Array.from({ length: H }, (_, r) => String(r)), colLabels: Array.from({ length: W }, (_, c) => String(c)) };
}
