import { describe, expect, it } from 'vitest';
import { headViewLayout, headViewLines, lineAt, tokenAt, type HeadLine } from './head-view.js';
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
    const lines = headViewLines(LAYER, [0, 1]);
    expect(lines).toHaveLength(18);
    for (const l of lines) expect(l.weight).toBe(LAYER.data[(l.head * 3 + l.from) * 3 + l.to]);
    expect(lines.find((l) => l.head === 1 && l.from === 2 && l.to === 1)!.weight).toBeCloseTo(0.3, 6);
  });

  it('leaves out toggled-off heads and keeps only the focused token’s lines', () => {
    expect(headViewLines(LAYER, [1]).every((l) => l.head === 1)).toBe(true);
    expect(headViewLines(LAYER, [])).toEqual([]);
    const query = headViewLines(LAYER, [0, 1], { side: 'query', index: 1 });
    expect(query.map((l) => [l.head, l.from, l.to])).toEqual([[0, 1, 0], [0, 1, 1], [0, 1, 2], [1, 1, 0], [1, 1, 1], [1, 1, 2]]);
    const key = headViewLines(LAYER, [0], { side: 'key', index: 2 });
    expect(key.map((l) => l.weight)).toEqual([LAYER.data[2], LAYER.data[5], LAYER.data[8]]);
    expect(() => headViewLines(LAYER, [2])).toThrow('head 2 is outside [0, 2)');
  });

  it('finds the token and the line under the pointer', () => {
    const layout = headViewLayout(3);
    const y = (i: number): number => layout.top + (i + 0.5) * layout.row;
    expect(tokenAt(layout, 3, 10, y(2))).toEqual({ side: 'query', index: 2 });
    expect(tokenAt(layout, 3, layout.rightX + 10, y(0))).toEqual({ side: 'key', index: 0 });
    expect(tokenAt(layout, 3, (layout.leftX + layout.rightX) / 2, y(1))).toBeUndefined();
    expect(tokenAt(layout, 3, 10, y(3))).toBeUndefined();
    const lines = headViewLines(LAYER, [0, 1]);
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
});
