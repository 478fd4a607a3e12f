import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { attentionColor, attentionLegendStops, ATTENTION_COLOR_RANGE, rgbHex } from './attention-colors.js';

const luminance = ([r, g, b]: readonly number[]): number => 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;

describe('attention colour scale', () => {
  it('runs from white at 0 to the deep end at max, clamped outside', () => {
    expect(attentionColor(0)).toEqual([255, 255, 255]);
    expect(attentionColor(1)).toEqual(ATTENTION_COLOR_RANGE[1]);
    expect(attentionColor(0.2, 0.2)).toEqual(ATTENTION_COLOR_RANGE[1]);
    expect(attentionColor(-3)).toEqual(attentionColor(0));
    expect(attentionColor(7)).toEqual(attentionColor(1));
  });

  it('darkens monotonically: every channel and the luminance fall as the weight grows', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), (a, b) => {
        const [lo, hi] = a <= b ? [attentionColor(a), attentionColor(b)] : [attentionColor(b), attentionColor(a)];
        for (let c = 0; c < 3; c++) expect(hi[c]).toBeLessThanOrEqual(lo[c]!);
        expect(luminance(hi)).toBeLessThanOrEqual(luminance(lo));
      }),
    );
    expect(luminance(attentionColor(0.5))).toBeLessThan(luminance(attentionColor(0.25)));
  });

  it('legend stops span 0…max with the scale’s colours', () => {
    const stops = attentionLegendStops(0.4);
    expect(stops).toHaveLength(5);
    stops.forEach((s, i) => expect(s.weight).toBeCloseTo(i * 0.1, 12));
    expect(stops[0]!.color).toEqual([255, 255, 255]);
    expect(stops.at(-1)!.color).toEqual(ATTENTION_COLOR_RANGE[1]);
    expect(rgbHex([255, 0, 16])).toBe('#ff0010');
  });
});
