import { describe, expect, it } from 'vitest';
import { attentionColor, rgbHex } from './attention-colors.js';
import { captionAttentionSvg, upsampleAttention, type CaptionAttentionRow } from './caption-figure.js';

describe('upsampleAttention', () => {
  it("spreads each location's weight over its window; overlapping windows add up", () => {
    // 1 × 2 grid of 2 × 2 windows at stride 1 over a 2 × 3 image: the middle column is in both.
    const out = upsampleAttention([0.25, 0.75], { rows: 1, cols: 2, window: 2, stride: 1 }, 2, 3);
    expect(Array.from(out)).toEqual([0.25, 1, 0.75, 0.25, 1, 0.75]);
  });

  it('refuses α of another length than the grid', () => {
    expect(() => upsampleAttention([1, 0, 0], { rows: 1, cols: 2, window: 2, stride: 1 }, 2, 3)).toThrow(/3 locations for a 1 × 2 grid/);
  });
});

describe('captionAttentionSvg', () => {
  const row = (hard: boolean): CaptionAttentionRow => ({
    pixels: new Float32Array(4 * 8).fill(0),
    height: 4,
    width: 8,
    grid: { rows: 1, cols: 2, window: 4, stride: 4 },
    label: '"one two"',
    words: ['one', 'two', '</s>'],
    alphas: [[0.9, 0.1], [0.2, 0.8], [0.5, 0.5]],
    hard,
  });

  it('draws one panel per word under its label, on one colour scale whose top is the largest weight', () => {
    const svg = captionAttentionSvg([row(false)], 'title & <more>');
    expect(svg).toContain('>title &amp; &lt;more&gt;</text>');
    for (const word of ['one', 'two', '&lt;/s&gt;']) expect(svg).toContain(`>${word}</text>`);
    // The darkest colour is the 0.9 of the first word; the legend's last stop reads 0.90.
    expect(svg).toContain(`fill="${rgbHex(attentionColor(1))}"`);
    expect(svg).toContain('>0.90</text>');
    expect(svg).not.toContain('stroke="red"');
  });

  it('a figure without words draws the images alone, with no legend', () => {
    const svg = captionAttentionSvg([{ ...row(false), words: [], alphas: [] }], 'images');
    expect(svg).toContain('>image</text>');
    expect(svg).not.toContain('weight at a pixel');
    // The height leaves no room for a legend: the title, one row (4 px × 3 + 40).
    expect(svg).toContain(`height="${40 + 4 * 3 + 40}"`);
  });

  it('hard attention outlines the arg-max window of each word', () => {
    const svg = captionAttentionSvg([row(true)], 'hard');
    const boxes = [...svg.matchAll(/<rect x="(\d+)" y="\d+" width="12" height="12" fill="none" stroke="red"/g)].map((m) => Number(m[1]));
    expect(boxes).toHaveLength(3);
    // Word 1 takes location 0, word 2 location 1 (4 pixels × 3 px to the right), word 3's tie the first.
    const panel = 8 * 3 + 10;
    expect(boxes).toEqual([10 + panel, 10 + 2 * panel + 12, 10 + 3 * panel]);
  });
});
