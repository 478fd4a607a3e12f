// Heatmaps: matrices with row and column labels, built from the attention rows that decoding
// kept (one row per generated token: the alignment pictures of Bahdanau et al., Fig. 3) or from
// @attend/core's tables (positional encodings, masks), and drawn on a canvas.

import { attentionColor, attentionLegendStops, type Rgb, type Tokenizer } from '@attend/core';
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
 * tokens, columns the source tokens (`cross`) or the decoder's input tokens (`self`: bos, or a
 * decoder-lm's prompt, then each generated token; a step sees only the tokens before it, so
 * later columns are NaN).
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

/** One layer's self-attention over a sequence: [heads, size, size] row-major (query rows, key columns). */
export interface LayerAttention {
  heads: number;
  size: number;
  data: Float32Array;
}

/** A graph's self-attention outputs `attentions.0`, `attentions.1`, … ([1, H, T, T] each) as layers, in order. */
export function layerAttentions(outputs: Readonly<Record<string, { data: Float32Array; dims: readonly number[] }>>): LayerAttention[] {
  const layers: LayerAttention[] = [];
  for (let i = 0; outputs[`attentions.${i}`]; i++) {
    const t = outputs[`attentions.${i}`]!;
    layers.push({ heads: t.dims[1]!, size: t.dims[3]!, data: t.data });
  }
  return layers;
}

/** One head of a layer's self-attention, [S, S], rows and columns labelled by the tokens. */
export function attentionMatrix(layer: LayerAttention, head: number, labels: string[]): Matrix {
  const S = layer.size;
  if (head < 0 || head >= layer.heads) throw new RangeError(`head ${head} is outside [0, ${layer.heads})`);
  return { rows: S, cols: S, values: layer.data.slice(head * S * S, (head + 1) * S * S), rowLabels: labels, colLabels: labels };
}

/** Encoder self-attention of one layer and head, [S, S], labelled by the source tokens. */
export function encoderMatrix(result: DecodeResult, tokenizer: Tokenizer, layer: number, head: number): Matrix {
  const enc = result.encoder[layer];
  if (!enc) throw new RangeError(`no encoder attention for layer ${layer}`);
  return attentionMatrix(enc, head, tokenLabels(tokenizer, result.input));
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

/** Diverging colour (blue ← white → red) for t in [-1, 1]. */
export function divergingColor(t: number): Rgb {
  const x = Math.min(1, Math.max(-1, t));
  return x >= 0 ? [255, Math.round(255 - 190 * x), Math.round(255 - 200 * x)] : [Math.round(255 + 200 * x), Math.round(255 + 150 * x), 255];
}

export interface DrawOptions {
  /** Pixels per cell; default from the matrix size (4–22). */
  cell?: number;
  /** 'attention': 0…1 and 'relative': 0…the largest value, both on @attend/core's attention scale; 'signed': symmetric around 0, diverging. Default 'attention'. */
  scale?: 'attention' | 'relative' | 'signed';
  /** Row to outline (the current decoding step). */
  highlightRow?: number;
  /** Draw labels only when cells are at least this big; default 9. */
  minLabelCell?: number;
  title?: string;
  /** Draw the colour legend right of the cells; default true. */
  legend?: boolean;
}

const LEGEND_WIDTH = 58; // bar 10 px, ticks and labels

/** Where a heatmap's parts go on its canvas (CSS pixels); one function, so drawing and pointer lookup agree. */
export interface HeatmapLayout {
  cell: number;
  showLabels: boolean;
  /** The cells' top-left corner. */
  left: number;
  top: number;
  width: number;
  height: number;
  /** The legend's bar: x, top and height (undefined without a legend). */
  legend?: { x: number; top: number; height: number };
}

export function heatmapLayout(m: Matrix, options: DrawOptions, textWidth: (text: string) => number): HeatmapLayout {
  const cell = options.cell ?? Math.max(4, Math.min(22, Math.floor(420 / Math.max(m.rows, m.cols, 1))));
  const showLabels = cell >= (options.minLabelCell ?? 9);
  const labelWidth = (labels: string[]): number => (showLabels ? Math.ceil(Math.max(0, ...labels.map(textWidth))) + 6 : 0);
  const left = labelWidth(m.rowLabels);
  const top = (showLabels ? labelWidth(m.colLabels) : 0) + (options.title ? 16 : 0);
  const gridRight = left + m.cols * cell + 2;
  const withLegend = options.legend ?? true;
  const height = top + Math.max(m.rows * cell, withLegend ? 60 : 0) + 2;
  return {
    cell,
    showLabels,
    left,
    top,
    width: gridRight + (withLegend ? LEGEND_WIDTH : 0),
    height,
    ...(withLegend ? { legend: { x: gridRight + 8, top: top + 5, height: Math.max(50, Math.min(160, m.rows * cell - 10)) } } : {}),
  };
}

/** The colour of value `v` of a matrix whose finite values span [min, max], and the scale's legend (value and colour, low to high). */
export function colorScale(options: DrawOptions, min: number, max: number): { color: (v: number) => Rgb; stops: { value: number; color: Rgb }[] } {
  if (options.scale === 'signed') {
    const bound = Math.max(Math.abs(min), Math.abs(max)) || 1;
    return { color: (v) => divergingColor(v / bound), stops: [-1, -0.5, 0, 0.5, 1].map((t) => ({ value: t * bound, color: divergingColor(t) })) };
  }
  const top = options.scale === 'relative' ? max || 1 : 1;
  return { color: (v) => attentionColor(v, top), stops: attentionLegendStops(top).map((s) => ({ value: s.weight, color: s.color })) };
}

/** The cell under the point (x, y) in CSS pixels: its row and column tokens and value; undefined outside the cells. */
export function cellAt(m: Matrix, layout: HeatmapLayout, x: number, y: number): { row: string; col: string; value: number } | undefined {
  const c = Math.floor((x - layout.left) / layout.cell);
  const r = Math.floor((y - layout.top) / layout.cell);
  if (r < 0 || c < 0 || r >= m.rows || c >= m.cols) return undefined;
  return { row: m.rowLabels[r]!, col: m.colLabels[c]!, value: m.values[r * m.cols + c]! };
}

/**
 * Draws `m` on `canvas` (resized to fit), with token labels on the left and top and the colour
 * legend on the right; the pointer's cell (row token, column token, value) shows as the
 * canvas's tooltip and in `data-hover`.
 */
export function drawHeatmap(canvas: HTMLCanvasElement, m: Matrix, options: DrawOptions = {}): void {
  const ctx0 = canvas.getContext('2d');
  if (!ctx0) return;
  const measure = heatmapLayout(m, options, () => 0);
  const font = `${Math.min(13, measure.cell - 2)}px ui-monospace, monospace`;
  ctx0.font = font;
  const layout = heatmapLayout(m, options, (text) => ctx0.measureText(text).width);
  const { cell, showLabels, left, top, width, height } = layout;
  const dpr = globalThis.devicePixelRatio || 1;
  canvas.width = Math.ceil(width * dpr);
  canvas.height = Math.ceil(height * dpr);
  canvas.style.width = `${width}px`;
  canvas.style.height = `${height}px`;
  const ctx = canvas.getContext('2d')!;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, width, height);
  ctx.font = font;
  const { min, max } = valueRange(m.values);
  const scale = colorScale(options, min, max);
  const rgb = ([r, g, b]: Rgb): string => `rgb(${r},${g},${b})`;
  for (let r = 0; r < m.rows; r++) {
    for (let c = 0; c < m.cols; c++) {
      const v = m.values[r * m.cols + c]!;
      ctx.fillStyle = Number.isNaN(v) ? '#e8e8e8' : rgb(scale.color(v));
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
  if (layout.legend) {
    // The bar, high values on top, with a tick and label at each stop.
    const { x, top: y0, height: h } = layout.legend;
    const gradient = ctx.createLinearGradient(0, y0 + h, 0, y0);
    scale.stops.forEach((s, i) => gradient.addColorStop(i / (scale.stops.length - 1), rgb(s.color)));
    ctx.fillStyle = gradient;
    ctx.fillRect(x, y0, 10, h);
    ctx.strokeStyle = '#888';
    ctx.lineWidth = 1;
    ctx.strokeRect(x + 0.5, y0 + 0.5, 10, h);
    ctx.fillStyle = '#222';
    ctx.font = '10px ui-monospace, monospace';
    ctx.textAlign = 'left';
    ctx.textBaseline = 'middle';
    scale.stops.forEach((s, i) => ctx.fillText(formatValue(s.value), x + 14, y0 + h - (h * i) / (scale.stops.length - 1)));
  }
  canvas.dataset.rows = String(m.rows);
  canvas.dataset.cols = String(m.cols);
  canvas.dataset.legend = layout.legend ? scale.stops.map((s) => formatValue(s.value)).join(' ') : '';
  canvas.onmousemove = (event: MouseEvent) => {
    const hit = cellAt(m, layout, event.offsetX, event.offsetY);
    const text = hit ? `${hit.row} × ${hit.col}: ${formatValue(hit.value)}` : '';
    canvas.title = text;
    canvas.dataset.hover = text;
  };
}

/** A weight or table value for the legend and the pointer readout. */
export function formatValue(v: number): string {
  return Number.isNaN(v) ? '—' : Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(3).replace(/\.?0+$/, '') || '0';
}

/** A captioned figure holding a fresh canvas, for a panel of maps. */
export function mapFigure(title: string): { figure: HTMLElement; canvas: HTMLCanvasElement } {
  const figure = document.createElement('figure');
  const canvas = document.createElement('canvas');
  canvas.className = 'heatmap';
  const caption = document.createElement('figcaption');
  caption.textContent = title;
  figure.append(canvas, caption);
  return { figure, canvas };
}
