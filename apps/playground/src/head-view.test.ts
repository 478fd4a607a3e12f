import { describe, expect, it } from 'vitest';
import { headViewLayout, headViewLines, lineAt, selfLayer, seq2seqHeadMaps, tokenAt, type HeadLine } from './head-view.js';
import type { DecodeResult } from './decode.js';
import { layerAttentions, type LayerAttention } from './heatmap.js';

/** 2 heads over 3 tokens; head 0 attends along the diagonal, head 1 to the first token. */
const LAYER: LayerAttention = {
  heads: 2,
  size: 3,
  data: Float32Array.from([
    0.8, 0.1, 0.1, 0.1, 0.7, 0.2, 0.05, 0.05, 0.9,
    1, 0, 0, 0.6, 0.4, 0, 0.5, 0.3, 0.2,
  ]),
};

describe('head view', () => {
  it('draws a line per shown head and (query, key) pair, weighted a[h, query, key]', () => {
    const lines = headViewLines(selfLayer(LAYER), [0, 1]);
    expect(lines).toHaveLength(18);
    for (const l of lines) expect(l.weight).toBe(LAYER.data[(l.head * 3 + l.from) * 3 + l.to]);
    expect(lines.find((l) => l.head === 1 && l.from === 2 && l.to === 1)!.weight).toBeCloseTo(0.3, 6);
  });

  it('leaves out toggled-off heads and keeps only the focused token’s lines', () => {
    expect(headViewLines(selfLayer(LAYER), [1]).every((l) => l.head === 1)).toBe(true);
    expect(headViewLines(selfLayer(LAYER), [])).toEqual([]);
    const query = headViewLines(selfLayer(LAYER), [0, 1], { side: 'query', index: 1 });
    expect(query.map((l) => [l.head, l.from, l.to])).toEqual([[0, 1, 0], [0, 1, 1], [0, 1, 2], [1, 1, 0], [1, 1, 1], [1, 1, 2]]);
    const key = headViewLines(selfLayer(LAYER), [0], { side: 'key', index: 2 });
    expect(key.map((l) => l.weight)).toEqual([LAYER.data[2], LAYER.data[5], LAYER.data[8]]);
    expect(() => headViewLines(selfLayer(LAYER), [2])).toThrow('head 2 is outside [0, 2)');
  });

  it('finds the token and the line under the pointer', () => {
    const layout = headViewLayout(3);
    const y = (i: number): number => layout.top + (i + 0.5) * layout.row;
    expect(tokenAt(layout, 3, 10, y(2))).toEqual({ side: 'query', index: 2 });
    expect(tokenAt(layout, 3, layout.rightX + 10, y(0))).toEqual({ side: 'key', index: 0 });
    expect(tokenAt(layout, 3, (layout.leftX + layout.rightX) / 2, y(1))).toBeUndefined();
    expect(tokenAt(layout, 3, 10, y(3))).toBeUndefined();
    const lines = headViewLines(selfLayer(LAYER), [0, 1]);
    // A quarter of the way along the line from query 0 to key 2: the nearest other lines (0 → 1, 1 → 0) pass 4.5 px away.
    const quarter = layout.leftX + (layout.rightX - layout.leftX) / 4;
    expect(lineAt(layout, lines, quarter, y(0) + layout.row / 2)).toEqual({ head: 0, from: 0, to: 2, weight: LAYER.data[2] });
    // The centre, where 0 → 2, 2 → 0 and 1 → 1 of both heads cross: the heaviest, head 0's 1 → 1 (0.7).
    expect(lineAt(layout, lines, (layout.leftX + layout.rightX) / 2, y(1))).toEqual<HeadLine>({ head: 0, from: 1, to: 1, weight: LAYER.data[4]! });
    expect(lineAt(layout, lines, layout.leftX + 5, y(0) + layout.row / 2)).toBeUndefined();
  });

  it('reads a graph’s attentions.{i} outputs as layers', () => {
    const t = { data: LAYER.data, dims: [1, 2, 3, 3] };
    expect(layerAttentions({ 'attentions.0': t, 'attentions.1': t, theta: { data: new Float32Array(6), dims: [1, 2, 3] } })).toEqual([LAYER, LAYER]);
  });

  it('draws cross-attention: queries and keys of different lengths', () => {
    // 2 heads, 2 queries over 3 keys.
    const cross = { heads: 2, queries: 2, keys: 3, data: Float32Array.from([0.2, 0.3, 0.5, 0.6, 0.3, 0.1, 1, 0, 0, 0, 0, 1]) };
    const lines = headViewLines(cross, [0, 1]);
    expect(lines).toHaveLength(12);
    for (const l of lines) expect(l.weight).toBe(cross.data[(l.head * 2 + l.from) * 3 + l.to]);
    expect(headViewLines(cross, [1], { side: 'key', index: 2 }).map((l) => [l.from, l.weight])).toEqual([[0, 0], [1, 1]]);
    const layout = headViewLayout(3);
    const y = (i: number): number => layout.top + (i + 0.5) * layout.row;
    expect(tokenAt(layout, 2, 10, y(2), 3)).toBeUndefined(); // no third query
    expect(tokenAt(layout, 2, layout.rightX + 10, y(2), 3)).toEqual({ side: 'key', index: 2 });
  });

  it('stacks an encoder–decoder run’s steps into decoder self- and cross-attention per layer', () => {
    // 2 steps, 1 layer, 2 heads, a source of 3 tokens; the decoder inputs are bos (9) and the first output (5).
    const row = (keys: number, values: number[]) => ({ heads: 2, keys, data: Float32Array.from(values) });
    const result = {
      input: [4, 6, 7],
      decoderInputs: [9, 5],
      output: [5, 8],
      encoder: [LAYER],
      steps: [
        { token: 5, ms: 1, self: [row(1, [1, 1])], cross: [row(3, [0.1, 0.2, 0.7, 0.5, 0.5, 0])] },
        { token: 8, ms: 1, self: [row(2, [0.4, 0.6, 0.9, 0.1])], cross: [row(3, [0.3, 0.3, 0.4, 0, 1, 0])] },
      ],
    } as unknown as DecodeResult;
    const [encoder, self, cross] = seq2seqHeadMaps(result);
    expect(encoder).toEqual({ name: 'encoder self-attention', layers: [selfLayer(LAYER)], queries: [4, 6, 7], keys: [4, 6, 7] });
    expect(self!.queries).toEqual([9, 5]);
    // [head][query][key]: step 0 sees only bos; step 1 both.
    expect([...self!.layers[0]!.data]).toEqual([1, 0, 0.4, 0.6, 1, 0, 0.9, 0.1].map(Math.fround));
    expect(cross!.keys).toEqual([4, 6, 7]);
    expect([...cross!.layers[0]!.data]).toEqual([0.1, 0.2, 0.7, 0.3, 0.3, 0.4, 0.5, 0.5, 0, 0, 1, 0].map(Math.fround));
  });
});
