import { describe, expect, it } from 'vitest';
import { CharTokenizer, causalMask, localWindowMask } from '@attend/core';
import type { DecodeResult, DecodeStep } from './decode.js';
import { displayToken, divergingColor, encoderMatrix, maskMatrix, sequentialColor, stepMatrix, tableMatrix, valueRange } from './heatmap.js';

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
    finished: true,
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
    expect(sequentialColor(0)).toEqual([255, 255, 255]);
    expect(sequentialColor(2)).toEqual(sequentialColor(1));
    expect(divergingColor(0)).toEqual([255, 255, 255]);
    expect(divergingColor(1)[0]).toBe(255);
    expect(divergingColor(-1)[2]).toBe(255);
    expect(divergingColor(1)[2]).toBeLessThan(100);
    expect(divergingColor(-1)[0]).toBeLessThan(100);
  });
});
