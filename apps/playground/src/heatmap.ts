// Heatmaps: matrices with row and column labels, built from the attention rows that decoding
// kept (one row per generated token: the alignment pictures of Bahdanau et al., Fig. 3) or from
// @attend/core's tables (positional encodings, masks), and drawn on a canvas.

import type { Tokenizer } from '@attend/core';
import type { DecodeResult } from './decode.js';

/** A labelled matrix, row-major; NaN marks a cell that does not exist (a masked future key). */
export interface Matrix {
  rows: number;
  cols: number;
  values: Float32Array;
  rowLabels: string[];
  colLabels: string[];
}

/** How a token reads in a label: spaces and control characters made visible. */
export function displayToken(token: string): string {
  if (token === ' ') return '␣';
  if (token === '\n') return '⏎';
  if (token === '\t') return '⇥';
  return token.replace(/^Ġ/, '␣').replace(/^▁/, '␣');
}

export function tokenLabels(tokenizer: Tokenizer, ids: readonly number[]): string[] {
  return tokenizer.idsToTokens(ids).map(displayToken);
}

/**
 * The attention of steps 0 … upTo (inclusive) in one layer and head: rows are the generated
 * tokens, columns the source tokens (`cross`) or the decoder's input tokens (`self`: bos, then
 * each generated token; a step sees only the tokens before it, so later columns are NaN).
 */
export function stepMatrix(result: DecodeResult, tokenizer: Tokenizer, kind: 'cross' | 'self', layer: number, head: number, upTo = result.steps.length - 1): Matrix {
  const steps = result.steps.slice(0, upTo + 1);
  const colIds = kind === 'cross' ? result.input : result.decoderInputs;
  const cols = colIds.length;
  const values = new Float32Array(steps.length * cols).fill(NaN);
  steps.forEach((step, r) => {
    const row = (kind === 'cross' ? step.cross : step.self)[layer];
    if (!row) throw new RangeError(`no ${kind}-attention for layer ${layer} at step ${r}`);
    if (head < 0 || head >= row.heads) throw new RangeError(`head ${head} is outside [0, ${row.heads})`);
    // A decoder-lm's first step attends over the whole prompt; columns past row.keys do not exist yet.
    const n = Math.min(row.keys, cols);
    values.set(row.data.subarray(head * row.keys, head * row.keys + n), r * cols);
  });
  return {
    rows: steps.length,
    cols,
    values,
    rowLabels: tokenLabels(tokenizer, steps.map((s) => s.token)),
    colLabels: tokenLabels(tokenizer, colIds),
  };
}

/** Encoder self-attention of one layer and head, [S, S], labelled by the source tokens. */
export function encoderMatrix(result: DecodeResult, tokenizer: Tokenizer, layer: number, head: number): Matrix {
  const enc = result.encoder[layer];
  if (!enc) throw new RangeError(`no encoder attention for layer ${layer}`);
  const S = enc.size;
  const labels = tokenLabels(tokenizer, result.input);
  return { rows: S, cols: S, values: enc.data.slice(head * S * S, (head + 1) * S * S), rowLabels: labels, colLabels: labels };
}

/** A 0/1 mask (1 = may attend) as a matrix labelled by positions. */
export function maskMatrix(mask: Uint8Array, rows: number, cols: number): Matrix {
  if (mask.length !== rows * cols) throw new RangeError(`mask has ${mask.length} values for [${rows}, ${cols}]`);
  return { rows, cols, values: Float32Array.from(mask), rowLabels: positions(rows), colLabels: positions(cols) };
}

/** A [rows, cols] table (e.g. positions × dimensions) as a matrix. */
export function tableMatrix(table: Float32Array, rows: number, cols: number, rowLabel = (i: number) => String(i), colLabel = (j: number) => String(j)): Matrix {
  if (table.length !== rows * cols) throw new RangeError(`table has ${table.length} values for [${rows}, ${cols}]`);
  return { rows, cols, values: table, rowLabels: Array.from({ length: rows }, (_, i) => rowLabel(i)), colLabels: Array.from({ length: cols }, (_, j) => colLabel(j)) };
}

function positions(n: number): string[] {
  return Array.from({ length: n }, (_, i) => String(i));
}

/** Smallest and largest finite values. */
export function valueRange(values: Float32Array): { min: number; max: number } {
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (Number.isNaN(v)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return min === Infinity ? { min: 0, max: 0 } : { min, max };
}

/** Sequential colour (white → deep blue) for t in [0, 1]. */
export function sequentialColor(t: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, t));
  return [Math.round(255 - 222 * x), Math.round(255 - 180 * x), Math.round(255 - 75 * x)];
}

/** Diverging colour (blue ← white → red) for t in [-1, 1]. */
export function divergingColor(t: number): [number, number, number] {
  const x = Math.min(1, Math.max(-1, t));
  return x >= 0 ? [255, Math.round(255 - 190 * x), Math.round(255 - 200 * x)] : [Math.round(255 + 200 * x), Math.round(255 + 150 * x), 255];
}

export interface DrawOptions {
  /** Pixels per cell; default from the matrix size (4–22). */
  cell?: number;
  /** 'attention': 0…1, sequential; 'relative': 0…the largest value, sequential; 'signed': symmetric around 0, diverging. Default 'attention'. */
  scale?: 'attention' | 'relative' | 'signed';
  /** Row to outline (the current decoding step). */
  highlightRow?: number;
  /** Draw labels only when cells are at least this big; default 9. */
  minLabelCell?: number;
  title?: string;
}

/** Draws `m` on `canvas` (resized to fit), with token labels on the left and top. */
export function drawHeatmap(canvas: HTMLCanvasElement, m: Matrix, options: DrawOptions = {}): void {
  const cell = options.cell ?? Math.max(4, Math.min(22, Math.floor(420 / Math.max(m.rows, m.cols, 1))));
  const showLabels = cell >= (options.minLabelCell ?? 9);
  const font = `${Math.min(13, cell - 2)}px ui-monospace, monospace`;
  const ctx0 = canvas.getContext('2d');
  if (!ctx0) return;
  ctx0.font = font;
  const labelWidth = (labels: string[]): number => (showLabels ? Math.ceil(Math.max(0, ...labels.map((l) => ctx0.measureText(l).width))) + 6 : 0);
  const left = labelWidth(m.rowLabels);
  const top = (showLabels ? labelWidth(m.colLabels) : 0) + (options.title ? 16 : 0);
  const dpr = globalThis.devicePixelRatio || 1;
  const width = left + m.cols * cell + 2;
  const height = top + m.rows * cell + 2;
  canvas.width = Math.ceil(width * dpr);
  canvas.height = Math.ceil(height * dpr);
  canvas.style.width = `${width}px`;
  canvas.style.height = `${height}px`;
  const ctx = canvas.getContext('2d')!;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, width, height);
  ctx.font = font;
  const { min, max } = valueRange(m.values);
  const bound = Math.max(Math.abs(min), Math.abs(max)) || 1;
  for (let r = 0; r < m.rows; r++) {
    for (let c = 0; c < m.cols; c++) {
      const v = m.values[r * m.cols + c]!;
      if (Number.isNaN(v)) {
        ctx.fillStyle = '#e8e8e8';
      } else {
        const [red, green, blue] = options.scale === 'signed' ? divergingColor(v / bound) : sequentialColor(options.scale === 'relative' ? v / (max || 1) : v);
        ctx.fillStyle = `rgb(${red},${green},${blue})`;
      }
      ctx.fillRect(left + c * cell, top + r * cell, cell, cell);
    }
  }
  ctx.fillStyle = '#222';
  if (options.title) {
    ctx.textBaseline = 'top';
    ctx.fillText(options.title, 0, 0);
  }
  if (showLabels) {
    ctx.textBaseline = 'middle';
    ctx.textAlign = 'right';
    m.rowLabels.forEach((label, r) => ctx.fillText(label, left - 4, top + r * cell + cell / 2));
    ctx.save();
    ctx.rotate(-Math.PI / 2);
    ctx.textAlign = 'left';
    m.colLabels.forEach((label, c) => ctx.fillText(label, -(top - 4), left + c * cell + cell / 2));
    ctx.restore();
  }
  if (options.highlightRow !== undefined && options.highlightRow < m.rows) {
    ctx.strokeStyle = '#d33';
    ctx.lineWidth = 2;
    ctx.strokeRect(left + 1, top + options.highlightRow * cell + 1, m.cols * cell - 2, cell - 2);
  }
  canvas.dataset.rows = String(m.rows);
  canvas.dataset.cols = String(m.cols);
}
