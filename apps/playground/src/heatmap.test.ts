import { describe, expect, it } from 'vitest';
import { CharTokenizer, causalMask, localWindowMask } from '@attend/core';
import type { DecodeResult, DecodeStep } from './decode.js';
import { attentionColor } from '@attend/core';
import { cellAt, colorScale, displayToken, divergingColor, encoderMatrix, formatValue, heatmapLayout, maskMatrix, stepMatrix, tableMatrix, valueRange } from './heatmap.js';

const tokenizer = CharTokenizer.fromAlphabet('ab ');
const [a, b, space] = ['a', 'b', ' '].map((t) => tokenizer.tokenToId(t)!) as [number, number, number];
const { bos, eos } = tokenizer.specialTokenIds;

/** A 2-step result over source "ab " with 1 layer and 2 heads; row values encode (step, head, key). */
function result(): DecodeResult {
  const step = (t: number, token: number): DecodeStep => ({
    token,
    ms: 1,
    cross: [{ heads: 2, keys: 3, data: Float32Array.from({ length: 6 }, (_, i) => 100 * t + 10 * Math.floor(i / 3) + (i % 3)) }],
    self: [{ heads: 2, keys: t + 1, data: Float32Array.from({ length: 2 * (t + 1) }, (_, i) => 100 * t + 10 * Math.floor(i / (t + 1)) + (i % (t + 1))) }],
  });
  return {
    input: [a, b, space],
    decoderInputs: [bos, b],
    output: [b],
    steps: [step(0, b), step(1, eos)],
    finishReason: 'eos',
    prefillMs: 1,
    encoder: [{ heads: 2, size: 3, data: Float32Array.from({ length: 18 }, (_, i) => i) }],
  };
}

describe('stepMatrix', () => {
  it('cross-attention: a row per step up to the chosen one, columns the source tokens', () => {
    const m = stepMatrix(result(), tokenizer, 'cross', 0, 1);
    expect(m).toMatchObject({ rows: 2, cols: 3, rowLabels: ['b', '</s>'], colLabels: ['a', 'b', '␣'] });
    expect([...m.values]).toEqual([10, 11, 12, 110, 111, 112]);
    const first = stepMatrix(result(), tokenizer, 'cross', 0, 0, 0);
    expect([first.rows, [...first.values]]).toEqual([1, [0, 1, 2]]);
  });

  it('self-attention: columns the decoder inputs, the future masked as NaN', () => {
    const m = stepMatrix(result(), tokenizer, 'self', 0, 1);
    expect(m).toMatchObject({ rows: 2, cols: 2, rowLabels: ['b', '</s>'], colLabels: ['<s>', 'b'] });
    expect([...m.values]).toEqual([10, NaN, 110, 111]);
  });

  it('names a missing layer or head', () => {
    expect(() => stepMatrix(result(), tokenizer, 'cross', 1, 0)).toThrow('no cross-attention for layer 1 at step 0');
    expect(() => stepMatrix(result(), tokenizer, 'self', 0, 2)).toThrow('head 2 is outside [0, 2)');
  });
});

describe('other matrices', () => {
  it('encoder attention of one head, labelled by the source both ways', () => {
    const m = encoderMatrix(result(), tokenizer, 0, 1);
    expect([...m.values]).toEqual([9, 10, 11, 12, 13, 14, 15, 16, 17]);
    expect(m.rowLabels).toEqual(['a', 'b', '␣']);
  });

  it('masks and tables keep their layout and check their size', () => {
    const causal = maskMatrix(causalMask(3), 3, 3);
    expect([...causal.values]).toEqual([1, 0, 0, 1, 1, 0, 1, 1, 1]);
    expect(causal.colLabels).toEqual(['0', '1', '2']);
    expect([...maskMatrix(localWindowMask(3, 3, 0), 3, 3).values]).toEqual([1, 0, 0, 0, 1, 0, 0, 0, 1]);
    expect(() => maskMatrix(causalMask(3), 3, 4)).toThrow('mask has 9 values for [3, 4]');
    const t = tableMatrix(Float32Array.of(1, 2, 3, 4, 5, 6), 2, 3, (i) => `p${i}`);
    expect([t.rowLabels, t.colLabels]).toEqual([['p0', 'p1'], ['0', '1', '2']]);
    expect(() => tableMatrix(Float32Array.of(1, 2), 2, 3)).toThrow('table has 2 values for [2, 3]');
  });
});

describe('drawing helpers', () => {
  it('labels make spaces and byte-level markers visible', () => {
    expect([' ', '\n', '\t', 'Ġthe', '▁de', 'x'].map(displayToken)).toEqual(['␣', '⏎', '⇥', '␣the', '␣de', 'x']);
  });

  it('value ranges skip NaN', () => {
    expect(valueRange(Float32Array.of(NaN, -2, 5, NaN))).toEqual({ min: -2, max: 5 });
    expect(valueRange(Float32Array.of(NaN))).toEqual({ min: 0, max: 0 });
  });

  it('colour scales run white to colour, clamped', () => {
    expect(divergingColor(0)).toEqual([255, 255, 255]);
    expect(divergingColor(1)[0]).toBe(255);
    expect(divergingColor(-1)[2]).toBe(255);
    expect(divergingColor(1)[2]).toBeLessThan(100);
    expect(divergingColor(-1)[0]).toBeLessThan(100);
  });

  it('attention and relative scales are core’s attention scale, with its legend stops', () => {
    const attention = colorScale({}, 0, 0.3);
    expect(attention.color(0.5)).toEqual(attentionColor(0.5));
    expect(attention.stops.map((s) => s.value)).toEqual([0, 0.25, 0.5, 0.75, 1]);
    const relative = colorScale({ scale: 'relative' }, 0, 0.2);
    expect(relative.color(0.2)).toEqual(attentionColor(1));
    expect(relative.stops.at(-1)!.value).toBe(0.2);
    expect(colorScale({ scale: 'signed' }, -3, 1).stops.map((s) => s.value)).toEqual([-3, -1.5, 0, 1.5, 3]);
  });

  it('the layout leaves room for the legend, and the pointer finds the cell with its tokens and value', () => {
    const m = { rows: 2, cols: 3, rowLabels: ['x', 'y'], colLabels: ['a', 'b', 'c'], values: Float32Array.of(0.1, 0.2, 0.3, 0.4, 0.5, 0.6) };
    const layout = heatmapLayout(m, { cell: 20 }, (t) => 8 * t.length);
    const bare = heatmapLayout(m, { cell: 20, legend: false }, (t) => 8 * t.length);
    expect(layout.legend!.x).toBeGreaterThanOrEqual(layout.left + 3 * 20);
    expect(layout.width).toBeGreaterThan(bare.width);
    expect(bare.legend).toBeUndefined();
    expect(cellAt(m, layout, layout.left + 2 * 20 + 5, layout.top + 20 + 5)).toEqual({ row: 'y', col: 'c', value: m.values[5] });
    expect(cellAt(m, layout, layout.left - 1, layout.top)).toBeUndefined();
    expect(cellAt(m, layout, layout.left + 3 * 20, layout.top)).toBeUndefined();
    expect([0, 0.25, 1, 0.123456, 250.4].map(formatValue)).toEqual(['0', '0.25', '1', '0.123', '250']);
  });
});
