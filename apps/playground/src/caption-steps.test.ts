import { describe, expect, it } from 'vitest';
import { createModelConfig, digitRowsOf, digitScenes, parseCsvClassification } from '@attend/core';
import { attentionChoices, pickedIndex, readingChoices, stepWord, testDigits, testScene, wordLabel } from './caption-steps.js';

/** A digits8x8.csv text of `rows` rows: digit r % 10, its 64 values all r % 17. */
const digitsCsv = (rows: number): string => Array.from({ length: rows }, (_, r) => [...new Array<number>(64).fill(r % 17), r % 10].join(',')).join('\n');

describe('a scene drawn from the digit-scenes test set', () => {
  it('takes the test rows of the file (every tenth row, the 8:1:1 split) and names the file in its errors', () => {
    const digits = testDigits(digitsCsv(40), 'digits8x8.csv');
    expect(digits.map((d) => d.label)).toEqual([9, 9, 9, 9]);
    expect(digits).toEqual(digitRowsOf(parseCsvClassification(digitsCsv(40)), 'test'));
    expect(() => testDigits(digitsCsv(9), 'few.csv')).toThrow(/^few\.csv: 9 rows are too few to split into train, dev and test digits; give at least 10$/);
    expect(() => testDigits('1,2,3\n'.repeat(12), 'short.csv')).toThrow(/^short\.csv: row 1 has 2 pixel values, expected 64 \(8 × 8\)$/);
  });

  it('scene n is the first scene attend eval --seed n draws on the canvas: as many digits as fit, no clutter, seeded', () => {
    const digits = testDigits(digitsCsv(200), 'd.csv');
    const canvas = { imageHeight: 12, imageWidth: 24 };
    const scene = testScene(digits, canvas, 3);
    // caption-eval.ts: batch 0 of --seed 3 is digitScenes(rows, { seed: 3 · 1,000,003, … }).
    const [first] = digitScenes(digits, { count: 5, seed: 3 * 1_000_003, height: 12, width: 24, minDigits: 1, maxDigits: 3, clutter: 0 });
    expect(scene.pixels).toEqual(first!.pixels);
    expect(scene.caption).toBe(first!.caption);
    expect(scene.pixels).toHaveLength(12 * 24);
    expect(testScene(digits, canvas, 3).pixels).toEqual(scene.pixels);
    expect(testScene(digits, canvas, 4).pixels).not.toEqual(scene.pixels);
    // The default four digits where they fit.
    const wide = Array.from({ length: 40 }, (_, n) => testScene(digits, { imageHeight: 24, imageWidth: 48 }, n).labels.length);
    expect(Math.max(...wide)).toBe(4);
    expect(() => testScene(digits, { imageHeight: 6, imageWidth: 24 }, 0)).toThrow(/a 6 × 24 canvas cannot hold an 8 × 8 digit/);
    expect(() => testScene(digits, canvas, -1)).toThrow(/scene number: -1 is not a whole number ≥ 0/);
  });
});

describe('stepping through the words and choosing the layer and head', () => {
  it('previous and next stay within the words', () => {
    expect(stepWord(0, 1, 3)).toBe(1);
    expect(stepWord(2, 1, 3)).toBe(2);
    expect(stepWord(0, -1, 3)).toBe(0);
    expect(stepWord(0, 1, 0)).toBe(0);
    expect(wordLabel(['one', 'two', '</s>'], 1)).toBe('word 2 of 3: two');
    expect(wordLabel([], 0)).toBe('no words');
  });

  it('a Transformer captioner offers each layer (the last by default) and each head after the mean; the LSTM captioner nothing', () => {
    const choices = attentionChoices(2, 2);
    expect(choices.layers).toEqual([{ value: '0', label: 'layer 0' }, { value: '', label: 'layer 1 (last)' }]);
    expect(choices.heads.map((h) => h.value)).toEqual(['', '0', '1']);
    expect(attentionChoices(0, 1)).toEqual({ layers: [], heads: [] });
    expect(pickedIndex('')).toBeUndefined();
    expect(pickedIndex('1')).toBe(1);
  });
});

describe("a hard captioner's test-time reading", () => {
  const captioner = (visualAttention: 'soft' | 'hard') => createModelConfig({ preset: 'image-captioner', vocabSize: 9, imageHeight: 8, imageWidth: 16, visualAttention });
  const older = ['input_ids', 'encoder_hidden_states', 'hidden_state', 'cell_state'];

  it('offers the arg-max and the expectation when the decoder step takes use_expectation; an older hard export the arg-max only, saying why', () => {
    expect(readingChoices(captioner('hard'), [...older, 'use_expectation'])).toEqual({ readings: ['argmax', 'expectation'] });
    expect(readingChoices(captioner('hard'), older)).toEqual({ readings: ['argmax'], note: "arg-max only: this export's decoder step has no 'use_expectation' input (export the checkpoint again to read the expectation)" });
  });

  it('offers nothing for soft attention or the Transformer captioner', () => {
    expect(readingChoices(captioner('soft'), [...older, 'use_expectation'])).toBeUndefined();
    expect(readingChoices(createModelConfig({ preset: 'vision-encoder-decoder', vocabSize: 9, imageHeight: 8, imageWidth: 16, patchSize: 4 }), ['pixel_values'])).toBeUndefined();
  });
});
