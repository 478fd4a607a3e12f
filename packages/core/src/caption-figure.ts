// The figure of Show, Attend and Tell (Xu et al., 2015, fig. 2–3) for any captioner: for each
// generated word, its attention over the image — α over the L locations of the model's grid,
// each location's weight spread over the pixels of the window it reads (overlapping windows
// add up) — on the one colour scale of attend's heatmaps (attention-colors.ts), the image in
// grey over it and the word under the panel; hard attention also outlines the location it took
// (the arg-max). One row of panels per captioned image; one legend for the whole figure, since
// every panel shares the scale (none when no row has a word: the images alone). An SVG string:
// the CLI's `attend attention`, bench:captions and bench:where (the ViT's rollout) draw it.

import { attentionColor, attentionLegendStops, rgbHex } from './attention-colors.js';
import { decodeRows, type RowOutputs, type StepOutputs } from './decoding.js';
import { ConfigError } from './errors.js';
import type { TokenModelConfig } from './models/registry.js';
import type { Tokenizer } from './tokenizers/index.js';
import { translateDecodeOptions, type Translator } from './translate.js';

/** The grid a captioner attends over: rows × cols locations, each reading a window × window square at stride `stride`. */
export interface CaptionGrid {
  rows: number;
  cols: number;
  window: number;
  stride: number;
}

/** How a captioner's attention maps onto its image: the grid, and whether it takes one location per word (hard attention). */
export interface CaptionLayout {
  grid: CaptionGrid;
  hard: boolean;
  /** Positions the attention covers before the grid's (the Transformer encoder's CLS state), left out of the figure; default 0. */
  leading?: number;
}

/** The cross-attention a caption figure shows: one layer (default the last) and one head (default the heads' mean). */
export interface AttentionPick {
  layer?: number;
  head?: number;
}

/**
 * The attention of one decoding step over the grid, from the step's outputs (a captioner's
 * `cross_attentions.{l}`, each [heads, K] for one row): the picked layer's row (the last layer,
 * heads averaged, unless `pick` says), without the layout's `leading` positions; undefined when
 * the step has none. A layer or head the model lacks is a ConfigError naming `layer` or `head`.
 */
export function captionStepAttention(outputs: StepOutputs | RowOutputs, pick: AttentionPick, layout: Pick<CaptionLayout, 'leading'>): Float32Array | undefined {
  const layers = Object.keys(outputs)
    .filter((name) => /^cross_attentions\.\d+$/.test(name))
    .sort((a, b) => Number(a.split('.')[1]) - Number(b.split('.')[1]));
  if (layers.length === 0) return undefined;
  const layer = pick.layer ?? layers.length - 1;
  if (layer >= layers.length) throw new ConfigError('layer', `${layer} is out of range; the model has ${layers.length} cross-attention layer${layers.length === 1 ? '' : 's'} (0–${layers.length - 1})`);
  const { data, dims } = outputs[layers[layer]!]!;
  const K = dims.at(-1)!;
  const heads = data.length / K;
  if (pick.head !== undefined && pick.head >= heads) throw new ConfigError('head', `${pick.head} is out of range; the model has ${heads} heads (0–${heads - 1})`);
  const picked = pick.head === undefined ? Array.from({ length: heads }, (_, h) => h) : [pick.head];
  const leading = layout.leading ?? 0;
  const row = new Float32Array(K - leading);
  for (const h of picked) for (let i = 0; i < row.length; i++) row[i]! += data[h * K + leading + i]! / picked.length;
  return row;
}

/**
 * The greedy caption of one image by `translator` (a captioner's, tfjs or ONNX, whose steps carry
 * their cross-attention) with each generated word's attention over the grid (captionStepAttention;
 * undefined for a step without attention): the word ids, the caption, the words (eos as `</s>`
 * when it was produced) and one α per word. What `attend attention` and the playground draw.
 */
export async function captionWithAttention<S extends { batchSize: number }>(translator: Translator<S>, source: S, config: TokenModelConfig, tokenizer: Tokenizer, layout: Pick<CaptionLayout, 'leading'>, pick: AttentionPick = {}): Promise<{ ids: number[]; output: string; words: string[]; alphas: (Float32Array | undefined)[] }> {
  const { step, release } = await translator.start(source);
  try {
    const [row] = await decodeRows(step, translateDecodeOptions(config, 1, { maxNewTokens: config.maxSeqLen - 1 }));
    const { ids, steps } = row!;
    const words = [...ids.map((id) => tokenizer.decode([id])), ...(steps.length > ids.length ? ['</s>'] : [])];
    return { ids, output: tokenizer.decode(ids), words, alphas: steps.map((s) => captionStepAttention(s, pick, layout)) };
  } finally {
    release?.();
  }
}

/** One captioned image: its pixels, the words generated and each word's α over the grid. */
export interface CaptionAttentionRow {
  /** [height, width] values in [0, 1] (row-major), drawn darker the larger they are. */
  pixels: ArrayLike<number>;
  height: number;
  width: number;
  grid: CaptionGrid;
  /** The label over the row, e.g. `soft: "three one" → "three one"`. */
  label: string;
  /** Each generated word (eos as `</s>`), one per α row. */
  words: readonly string[];
  /** α per word over the rows·cols locations (row-major). */
  alphas: readonly ArrayLike<number>[];
  /** Hard attention: outline the location taken (the arg-max of α). */
  hard: boolean;
}

/** `text` escaped for SVG/XML text and attribute values. */
export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** α over the grid spread over the image's pixels: each pixel holds the sum of the weights of the windows that read it. */
export function upsampleAttention(alpha: ArrayLike<number>, grid: CaptionGrid, height: number, width: number): Float32Array {
  if (alpha.length !== grid.rows * grid.cols) throw new RangeError(`attention of ${alpha.length} locations for a ${grid.rows} × ${grid.cols} grid`);
  const out = new Float32Array(height * width);
  for (let gy = 0; gy < grid.rows; gy++) {
    for (let gx = 0; gx < grid.cols; gx++) {
      const w = alpha[gy * grid.cols + gx]!;
      for (let y = gy * grid.stride; y < Math.min(height, gy * grid.stride + grid.window); y++) {
        for (let x = gx * grid.stride; x < Math.min(width, gx * grid.stride + grid.window); x++) out[y * width + x]! += w;
      }
    }
  }
  return out;
}

/** The index of the largest value. */
const argMax = (xs: ArrayLike<number>): number => {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i]! > xs[best]!) best = i;
  return best;
};

/** The SVG of each row's image and one panel per word (see the top of this file), titled `title`. */
export function captionAttentionSvg(rows: readonly CaptionAttentionRow[], title: string, { px = 3 }: { px?: number } = {}): string {
  const gap = 10;
  const maps = rows.map((r) => r.alphas.map((a) => upsampleAttention(a, r.grid, r.height, r.width)));
  let max = 0;
  for (const m of maps.flat()) for (const v of m) max = Math.max(max, v);
  const panelW = Math.max(...rows.map((r) => r.width * px));
  const panelH = Math.max(...rows.map((r) => r.height * px));
  const panels = Math.max(...rows.map((r) => r.words.length)) + 1;
  // The legend only when some row has a word's panel (a row without words shows its image alone).
  const legend = rows.some((r) => r.alphas.length > 0);
  const W = Math.max(20 + panels * (panelW + gap), 560);
  const rowH = panelH + 40;
  const H = 40 + rows.length * rowH + (legend ? 34 : 0);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="10" y="18" font-size="13">${escapeXml(title)}</text>`,
  ];
  rows.forEach((r, i) => {
    const y0 = 40 + i * rowH;
    parts.push(`<text x="10" y="${y0 + 10}">${escapeXml(r.label)}</text>`);
    const image = (x0: number, overlay?: Float32Array): void => {
      parts.push(`<rect x="${x0}" y="${y0 + 16}" width="${r.width * px}" height="${r.height * px}" fill="white" stroke="#ccc"/>`);
      if (overlay) {
        // Blocks of stride × stride pixels, on which the spread weight is constant.
        const s = r.grid.stride;
        for (let y = 0; y < r.height; y += s) {
          for (let x = 0; x < r.width; x += s) {
            const v = overlay[y * r.width + x]!;
            if (v > 0) parts.push(`<rect x="${x0 + x * px}" y="${y0 + 16 + y * px}" width="${Math.min(s, r.width - x) * px}" height="${Math.min(s, r.height - y) * px}" fill="${rgbHex(attentionColor(v, max))}"/>`);
          }
        }
      }
      for (let y = 0; y < r.height; y++) {
        for (let x = 0; x < r.width; x++) {
          const v = r.pixels[y * r.width + x]!;
          if (v > 0.05) parts.push(`<rect x="${x0 + x * px}" y="${y0 + 16 + y * px}" width="${px}" height="${px}" fill="black" fill-opacity="${Math.min(0.8, 0.8 * v).toFixed(2)}"/>`);
        }
      }
    };
    image(10);
    parts.push(`<text x="10" y="${y0 + 30 + panelH}">image</text>`);
    r.alphas.forEach((alpha, t) => {
      const x0 = 10 + (t + 1) * (panelW + gap);
      image(x0, maps[i]![t]!);
      if (r.hard) {
        const at = argMax(alpha);
        const [gx, gy] = [at % r.grid.cols, Math.floor(at / r.grid.cols)];
        parts.push(`<rect x="${x0 + gx * r.grid.stride * px}" y="${y0 + 16 + gy * r.grid.stride * px}" width="${r.grid.window * px}" height="${r.grid.window * px}" fill="none" stroke="red" stroke-width="1.5"/>`);
      }
      parts.push(`<text x="${x0}" y="${y0 + 30 + panelH}">${escapeXml(r.words[t] ?? '')}</text>`);
    });
  });
  if (legend) {
    const ly = H - 24;
    parts.push(`<text x="10" y="${ly + 10}">weight at a pixel (Σ α of the windows over it):</text>`);
    attentionLegendStops(max, 5).forEach((s, i) => {
      parts.push(`<rect x="${280 + i * 56}" y="${ly}" width="14" height="12" fill="${rgbHex(s.color)}" stroke="#999"/>`, `<text x="${298 + i * 56}" y="${ly + 10}">${s.weight.toFixed(2)}</text>`);
    });
    if (rows.some((r) => r.hard)) parts.push(`<text x="${280 + 5 * 56}" y="${ly + 10}">red: the location taken</text>`);
  }
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
