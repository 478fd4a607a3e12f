import { describe, expect, it } from 'vitest';
import { DataError, ShapeError } from '../errors.js';
import {
  accuracy,
  bitsPerCharacter,
  confusionMatrix,
  exactMatch,
  meanNll,
  nllFromLogits,
  perplexity,
  sequenceExactMatch,
  tokenAccuracy,
} from './accuracy.js';

describe('tokenAccuracy', () => {
  it('counts matching positions', () => {
    // 3 of 4 positions agree.
    expect(tokenAccuracy([1, 2, 3, 4], [1, 2, 0, 4])).toBe(0.75);
    expect(tokenAccuracy(new Int32Array([5, 5]), new Int32Array([5, 5]))).toBe(1);
  });

  it('skips positions whose label is ignoreId', () => {
    // Scored positions: 0 (match), 2 (miss), 3 (match) → 2/3; position 1 and 4 are padding.
    expect(tokenAccuracy([7, 9, 1, 2, 9], [7, -100, 3, 2, -100], { ignoreId: -100 })).toBeCloseTo(2 / 3, 15);
    // A prediction equal to ignoreId at a scored position is a miss, not skipped.
    expect(tokenAccuracy([0, 0], [0, 1], { ignoreId: 0 })).toBe(0);
  });

  it('rejects mismatched lengths and empty scoring sets', () => {
    expect(() => tokenAccuracy([1, 2], [1])).toThrow(ShapeError);
    expect(() => tokenAccuracy([1, 2], [0, 0], { ignoreId: 0 })).toThrow(DataError);
    expect(() => tokenAccuracy([], [])).toThrow(/no positions to score/);
  });
});

describe('accuracy', () => {
  it('is the fraction of correct classes', () => {
    expect(accuracy([0, 1, 2, 1, 0], [0, 1, 1, 1, 2])).toBe(0.6);
    expect(() => accuracy([], [])).toThrow(DataError);
    expect(() => accuracy([0], [0, 1])).toThrow(ShapeError);
  });
});

describe('exactMatch', () => {
  it('compares strings exactly', () => {
    expect(exactMatch(['a b', 'c', 'D'], ['a b', 'c ', 'd'])).toBeCloseTo(1 / 3, 15);
    expect(exactMatch(['x'], ['x'])).toBe(1);
    expect(() => exactMatch(['x'], [])).toThrow(/1 predictions for 0 references/);
  });
});

describe('sequenceExactMatch', () => {
  it('needs equal length and ids without ignoreId', () => {
    const preds = [[1, 2, 3], [4, 5], [6]];
    const labels = [[1, 2, 3], [4, 5, 0], [7]];
    expect(sequenceExactMatch(preds, labels)).toBeCloseTo(1 / 3, 15);
  });

  it('skips ignored label positions in aligned rows', () => {
    const preds = [new Int32Array([1, 2, 9]), new Int32Array([4, 8, 0])];
    const labels = [new Int32Array([1, 2, -1]), new Int32Array([4, 5, -1])];
    // Row 0 matches where scored; row 1 differs at position 1.
    expect(sequenceExactMatch(preds, labels, { ignoreId: -1 })).toBe(0.5);
    expect(() => sequenceExactMatch([[1]], [[1, -1]], { ignoreId: -1 })).toThrow(ShapeError);
  });
});

describe('meanNll and perplexity', () => {
  it('averages NLLs, with an optional mask', () => {
    expect(meanNll([1, 2, 3])).toBe(2);
    // Masked: (1 + 3) / 2.
    expect(meanNll([1, 100, 3], { mask: [1, 0, 1] })).toBe(2);
    expect(() => meanNll([1, 2], { mask: [1] })).toThrow(ShapeError);
    expect(() => meanNll([1], { mask: [0] })).toThrow(DataError);
  });

  it('perplexity is exp(mean NLL)', () => {
    expect(perplexity(0)).toBe(1);
    // A uniform model over V tokens has NLL log V per token and perplexity V.
    expect(perplexity(Math.log(50))).toBeCloseTo(50, 10);
    expect(() => perplexity(Number.NaN)).toThrow(DataError);
  });

  it('nllFromLogits computes cross-entropy per token', () => {
    // Row 0 logits [0, 0] → p = 1/2 for label 1: NLL = log 2.
    // Row 1 logits [log 3, 0] → p(label 0) = 3/4: NLL = log(4/3).
    // Row 2 is ignored.
    const logits = [0, 0, Math.log(3), 0, 5, -5];
    const { sum, count, mean } = nllFromLogits(logits, [1, 0, -100], { vocabSize: 2, ignoreId: -100 });
    expect(count).toBe(2);
    expect(sum).toBeCloseTo(Math.log(2) + Math.log(4 / 3), 12);
    expect(mean).toBeCloseTo((Math.log(2) + Math.log(4 / 3)) / 2, 12);
    // Large logits do not overflow (max-shifted log-sum-exp).
    expect(nllFromLogits([1000, 1000], [0], { vocabSize: 2 }).mean).toBeCloseTo(Math.log(2), 12);
    // A uniform model over 4 tokens: perplexity 4.
    expect(perplexity(nllFromLogits(new Float32Array(8), [3, 0], { vocabSize: 4 }).mean)).toBeCloseTo(4, 12);
  });

  it('nllFromLogits validates shapes and labels', () => {
    expect(() => nllFromLogits([0, 0, 0], [0], { vocabSize: 2 })).toThrow(ShapeError);
    expect(() => nllFromLogits([0, 0], [2], { vocabSize: 2 })).toThrow(/label 2 at position 0/);
    expect(() => nllFromLogits([0, 0], [0], { vocabSize: 0 })).toThrow(ShapeError);
  });
});

describe('confusionMatrix', () => {
  it('counts [truth][prediction] and adds batches into one matrix', () => {
    // labels      0 0 1 1 2 2 2
    // predictions 0 1 1 1 2 0 2
    // row 0: [1, 1, 0]; row 1: [0, 2, 0]; row 2: [1, 0, 2]
    const m = confusionMatrix([0, 1, 1, 1, 2, 0, 2], [0, 0, 1, 1, 2, 2, 2], 3);
    expect(m).toEqual([
      [1, 1, 0],
      [0, 2, 0],
      [1, 0, 2],
    ]);
    // A second batch: truth 1 predicted 2, truth 0 predicted 0.
    expect(confusionMatrix([2, 0], [1, 0], 3, m)).toEqual([
      [2, 1, 0],
      [0, 2, 1],
      [1, 0, 2],
    ]);
  });

  it('refuses classes outside the matrix and mismatched lengths', () => {
    expect(() => confusionMatrix([0, 3], [0, 1], 3)).toThrow(/prediction 3 at position 1 is outside \[0, 3\)/);
    expect(() => confusionMatrix([0], [-1], 3)).toThrow(/label -1/);
    expect(() => confusionMatrix([0], [0, 1], 3)).toThrow(ShapeError);
    expect(() => confusionMatrix([0], [0], 2, [[0, 0, 0]])).toThrow(/not 2 × 2/);
  });
});

describe('bitsPerCharacter', () => {
  it('is the NLL in bits per character', () => {
    // A uniform model over 4 characters: ln 4 nats per character = 2 bits.
    expect(bitsPerCharacter(10 * Math.log(4), 10)).toBeCloseTo(2, 12);
    // 3 tokens of total NLL 6 ln 2 nats spelling 2 characters each: 6 bits / 6 characters.
    expect(bitsPerCharacter(6 * Math.LN2, 6)).toBeCloseTo(1, 12);
    expect(() => bitsPerCharacter(1, 0)).toThrow(DataError);
    expect(() => bitsPerCharacter(Number.NaN, 3)).toThrow(/NaN/);
  });
});
