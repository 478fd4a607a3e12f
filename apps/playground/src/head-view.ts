// The head view of a Transformer's attention, in the spirit of bertviz's (Vig, 2019): queries on
// the left and keys on the right (the same tokens twice for self-attention; the decoder's tokens
// and the source's for an encoder–decoder's cross-attention), a line from query i to key j for
// each shown head, in the head's colour, as opaque as its weight a[h, i, j]. A layer selector,
// one toggle per head, the pointer on a token keeps only that token's lines, and the weight of
// the line under the pointer is read out. Beside it the grid of every layer × head as small
// heatmaps on the shared attention scale (@attend/core's colours, through drawHeatmap). An
// encoder–decoder's run gives three sets of maps (encoder self, decoder self, cross), the
// decoder's stacked from its decoding steps (`seq2seqHeadMaps`).

import { textModelSession } from '@attend/runtime-onnx';
import type { DecodeResult, Sessions } from './decode.js';
import { drawHeatmap, formatValue, layerAttentions, mapFigure, type LayerAttention } from './heatmap.js';

/** One layer's attention as the head view draws it: [heads, queries, keys] row-major. */
export interface HeadViewLayer {
  heads: number;
  queries: number;
  keys: number;
  data: Float32Array;
}

/** A self-attention layer [heads, S, S] as a head-view layer. */
export const selfLayer = (a: LayerAttention): HeadViewLayer => ({ heads: a.heads, queries: a.size, keys: a.size, data: a.data });

/** One drawn line: head `head`'s attention from query `from` to key `to`. */
export interface HeadLine {
  head: number;
  from: number;
  to: number;
  weight: number;
}

/** Where the two token columns go on the canvas (CSS pixels). */
export interface HeadViewLayout {
  /** Right edge of the query labels (lines start here) and left edge of the key labels (lines end here). */
  leftX: number;
  rightX: number;
  /** Top of the first row, and the height of a row. */
  top: number;
  row: number;
  width: number;
  height: number;
}

const ROW = 18;
const LABEL = 90;
const GAP = 150;
/** Distance in CSS pixels within which the pointer is on a line. */
const NEAR = 3;

/** The layout of `tokens` rows. */
export function headViewLayout(tokens: number): HeadViewLayout {
  return { leftX: LABEL, rightX: LABEL + GAP, top: 4, row: ROW, width: 2 * LABEL + GAP, height: 8 + tokens * ROW };
}

/** The y of row `i`'s centre. */
function rowY(layout: HeadViewLayout, i: number): number {
  return layout.top + i * layout.row + layout.row / 2;
}

/** A head's colour: evenly spaced hues, so toggled heads are told apart. */
export function headColor(head: number, heads: number): string {
  return `hsl(${Math.round((360 * head) / Math.max(1, heads))}, 70%, 45%)`;
}

/**
 * The lines of one layer for the shown heads: every (query, key) pair, or only those of the
 * focused token (a query on the left, a key on the right). Weights are a[h, from, to] as the
 * graph gave them.
 */
export function headViewLines(layer: HeadViewLayer, shown: readonly number[], focus?: { side: 'query' | 'key'; index: number }): HeadLine[] {
  const { queries: Q, keys: K } = layer;
  const lines: HeadLine[] = [];
  for (const head of shown) {
    if (!Number.isInteger(head) || head < 0 || head >= layer.heads) throw new RangeError(`head ${head} is outside [0, ${layer.heads})`);
    for (let from = 0; from < Q; from++) {
      if (focus?.side === 'query' && from !== focus.index) continue;
      for (let to = 0; to < K; to++) {
        if (focus?.side === 'key' && to !== focus.index) continue;
        lines.push({ head, from, to, weight: layer.data[(head * Q + from) * K + to]! });
      }
    }
  }
  return lines;
}

/** The token label under (x, y): a query on the left (of `queries`), a key on the right (of `keys`, default as many); undefined elsewhere. */
export function tokenAt(layout: HeadViewLayout, queries: number, x: number, y: number, keys = queries): { side: 'query' | 'key'; index: number } | undefined {
  const index = Math.floor((y - layout.top) / layout.row);
  if (index < 0) return undefined;
  if (x >= 0 && x < layout.leftX && index < queries) return { side: 'query', index };
  if (x > layout.rightX && x <= layout.width && index < keys) return { side: 'key', index };
  return undefined;
}

/** The line under (x, y) (within NEAR pixels; the heaviest where several cross there); undefined when none is. */
export function lineAt(layout: HeadViewLayout, lines: readonly HeadLine[], x: number, y: number): HeadLine | undefined {
  if (x < layout.leftX || x > layout.rightX) return undefined;
  const t = (x - layout.leftX) / (layout.rightX - layout.leftX);
  let best: HeadLine | undefined;
  for (const line of lines) {
    const y0 = rowY(layout, line.from);
    const y1 = rowY(layout, line.to);
    // Distance from the point to the segment's line, measured perpendicular to it.
    const dy = y - (y0 + t * (y1 - y0));
    const distance = Math.abs(dy) / Math.hypot(1, (y1 - y0) / (layout.rightX - layout.leftX));
    if (distance <= NEAR && (!best || line.weight > best.weight)) best = line;
  }
  return best;
}

/** The page elements the head view lives in. */
export interface HeadViewElements {
  layerSelect: HTMLSelectElement;
  toggles: HTMLElement;
  canvas: HTMLCanvasElement;
  readout: HTMLElement;
  grid: HTMLElement;
}

/** Label colour of a sentence pair's second text (token type 1) in the head view. */
export const SEGMENT_B_INK = '#1f5fa8';

/**
 * Shows `layers` (each [heads, Q, K]) with `tokens` (Q query labels) on the left and `keyTokens`
 * (K key labels; default `tokens`, self-attention) on the right: the head view of the selected
 * layer, with its controls, and the grid of every layer × head. The canvas keeps the selected
 * layer's weights in `data-weights` (what it draws from) and the drawn lines' count in
 * `data-lines`; the readout keeps the hovered line in `data-line` ("head from to") and its weight
 * in `data-weight`. `segments` (self-attention over a sentence pair: each token's type) draws the
 * second text's labels in blue and is kept in `data-segments`.
 */
export function showHeadView(el: HeadViewElements, layers: readonly HeadViewLayer[], tokens: string[], keyTokens: string[] = tokens, segments?: readonly number[]): void {
  const heads = layers[0]?.heads ?? 0;
  if (segments !== undefined && (segments.length !== tokens.length || keyTokens.length !== tokens.length)) {
    throw new RangeError(`${segments.length} token types for ${tokens.length} × ${keyTokens.length} labels; segments are for self-attention over the same tokens`);
  }
  const ink = (i: number, focused: boolean): string => (focused ? '#d33' : segments?.[i] ? SEGMENT_B_INK : '#222');
  for (const [l, layer] of layers.entries()) {
    if (layer.queries !== tokens.length || layer.keys !== keyTokens.length) {
      throw new RangeError(`layer ${l}'s attention is ${layer.queries} × ${layer.keys} tokens; the labels are ${tokens.length} × ${keyTokens.length}`);
    }
  }
  const shown = new Set(Array.from({ length: heads }, (_, h) => h));
  let focus: { side: 'query' | 'key'; index: number } | undefined;
  let lines: HeadLine[] = [];
  const layout = headViewLayout(Math.max(tokens.length, keyTokens.length));
  const layer = (): HeadViewLayer => layers[Number(el.layerSelect.value)]!;

  el.layerSelect.replaceChildren(...layers.map((_, l) => new Option(`layer ${l}`, String(l))));
  el.toggles.replaceChildren(
    ...Array.from({ length: heads }, (_, h) => {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'head-toggle';
      button.textContent = `head ${h}`;
      button.style.borderColor = headColor(h, heads);
      button.style.background = headColor(h, heads);
      button.dataset.head = String(h);
      button.onclick = () => {
        if (shown.has(h)) shown.delete(h);
        else shown.add(h);
        button.style.background = shown.has(h) ? headColor(h, heads) : 'transparent';
        button.style.color = shown.has(h) ? '#fff' : headColor(h, heads);
        draw();
      };
      return button;
    }),
  );

  const draw = (): void => {
    const ctx = el.canvas.getContext('2d');
    if (!ctx) return;
    const dpr = globalThis.devicePixelRatio || 1;
    el.canvas.width = Math.ceil(layout.width * dpr);
    el.canvas.height = Math.ceil(layout.height * dpr);
    el.canvas.style.width = `${layout.width}px`;
    el.canvas.style.height = `${layout.height}px`;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, layout.width, layout.height);
    const a = layer();
    lines = headViewLines(a, [...shown].sort((x, y) => x - y), focus);
    ctx.lineWidth = 2;
    for (const line of lines) {
      ctx.globalAlpha = Math.min(1, Math.max(0, line.weight));
      ctx.strokeStyle = headColor(line.head, heads);
      ctx.beginPath();
      ctx.moveTo(layout.leftX, rowY(layout, line.from));
      ctx.lineTo(layout.rightX, rowY(layout, line.to));
      ctx.stroke();
    }
    ctx.globalAlpha = 1;
    ctx.font = '12px ui-monospace, monospace';
    ctx.textBaseline = 'middle';
    tokens.forEach((token, i) => {
      ctx.fillStyle = ink(i, focus?.side === 'query' && focus.index === i);
      ctx.textAlign = 'right';
      ctx.fillText(token, layout.leftX - 6, rowY(layout, i), layout.leftX - 8);
    });
    keyTokens.forEach((token, i) => {
      ctx.fillStyle = ink(i, focus?.side === 'key' && focus.index === i);
      ctx.textAlign = 'left';
      ctx.fillText(token, layout.rightX + 6, rowY(layout, i), layout.width - layout.rightX - 8);
    });
    el.canvas.dataset.layer = el.layerSelect.value;
    if (segments === undefined) delete el.canvas.dataset.segments;
    else el.canvas.dataset.segments = segments.join(' ');
    el.canvas.dataset.heads = [...shown].sort((x, y) => x - y).join(' ');
    el.canvas.dataset.lines = String(lines.length);
    el.canvas.dataset.weights = Array.from(a.data).join(' ');
  };

  el.layerSelect.onchange = () => {
    focus = undefined;
    draw();
  };
  el.canvas.onmousemove = (event: MouseEvent) => {
    const token = tokenAt(layout, tokens.length, event.offsetX, event.offsetY, keyTokens.length);
    if (token?.side !== focus?.side || token?.index !== focus?.index) {
      focus = token;
      draw();
    }
    const line = token ? undefined : lineAt(layout, lines, event.offsetX, event.offsetY);
    el.readout.textContent = line
      ? `layer ${el.layerSelect.value} · head ${line.head} · “${tokens[line.from]}” → “${keyTokens[line.to]}”: ${formatValue(line.weight)}`
      : token
        ? `“${(token.side === 'query' ? tokens : keyTokens)[token.index]}” as ${token.side === 'query' ? 'the query' : 'the key'}: only its lines are drawn`
        : 'point at a token to keep only its lines, or at a line to read its weight';
    if (line) {
      el.readout.dataset.line = `${line.head} ${line.from} ${line.to}`;
      el.readout.dataset.weight = String(line.weight);
    } else {
      delete el.readout.dataset.line;
      delete el.readout.dataset.weight;
    }
  };
  el.canvas.onmouseleave = () => {
    focus = undefined;
    draw();
  };
  el.readout.textContent = 'point at a token to keep only its lines, or at a line to read its weight';
  draw();

  el.grid.replaceChildren();
  layers.forEach((a, l) => {
    for (let h = 0; h < a.heads; h++) {
      const { figure, canvas } = mapFigure(`layer ${l} · head ${h}`);
      el.grid.append(figure);
      const values = a.data.slice(h * a.queries * a.keys, (h + 1) * a.queries * a.keys);
      const matrix = { rows: a.queries, cols: a.keys, values, rowLabels: tokens, colLabels: keyTokens };
      drawHeatmap(canvas, matrix, { cell: Math.max(3, Math.min(10, Math.floor(120 / Math.max(1, tokens.length, keyTokens.length)))), legend: l === 0 && h === 0 });
    }
  });
}

/**
 * The self-attention a text run's head view shows, and the ids it covers: a classifier's input
 * (its call already returned every layer); a language model's prompt and output, read again in
 * one forward call (the decoding steps kept only each new token's row), up to maxSeqLen tokens.
 */
export async function textAttention(sessions: Sessions, result: DecodeResult, maxSeqLen: number): Promise<{ ids: number[]; layers: HeadViewLayer[] }> {
  if (sessions.kind !== 'lm') return { ids: result.input, layers: result.encoder.map(selfLayer) };
  const ids = [...result.input, ...result.output].slice(0, maxSeqLen);
  const out = await textModelSession(sessions.model).run({ inputIds: { data: ids, batchSize: 1, seqLen: ids.length } });
  return { ids, layers: layerAttentions(out.attentions).map(selfLayer) };
}

/** One of an encoder–decoder run's attentions for the head view: its layers, and the ids of its queries and keys. */
export interface HeadViewMaps {
  name: 'encoder self-attention' | 'decoder self-attention' | 'cross-attention';
  layers: HeadViewLayer[];
  queries: number[];
  keys: number[];
}

/**
 * An encoder–decoder run's three attentions for the head view: the encoder's self-attention
 * over the source; the decoder's self-attention and its cross-attention over the source, each
 * query the decoder's input at a step (bos, then each generated token but the last), stacked
 * from the steps' rows (step r sees decoder inputs 0 … r: the later keys get weight 0).
 */
export function seq2seqHeadMaps(result: DecodeResult): HeadViewMaps[] {
  const T = result.steps.length;
  const queries = result.decoderInputs.slice(0, T);
  const stacked = (kind: 'self' | 'cross', keys: number): HeadViewLayer[] =>
    (result.steps[0]?.[kind] ?? []).map((first, layer) => {
      const data = new Float32Array(first.heads * T * keys);
      result.steps.forEach((step, r) => {
        const row = step[kind][layer]!;
        for (let h = 0; h < row.heads; h++) data.set(row.data.subarray(h * row.keys, h * row.keys + Math.min(row.keys, keys)), (h * T + r) * keys);
      });
      return { heads: first.heads, queries: T, keys, data };
    });
  return [
    { name: 'encoder self-attention', layers: result.encoder.map(selfLayer), queries: result.input, keys: result.input },
    { name: 'decoder self-attention', layers: stacked('self', queries.length), queries, keys: queries },
    { name: 'cross-attention', layers: stacked('cross', result.input.length), queries, keys: result.input },
  ];
}
