import { describe, expect, it } from 'vitest';
import { cropWindow, decodeResults, decodeRows, slidingWindow, type DecodeStrategy, type StepFunction } from './decoding.js';

const BOS = 1;
const EOS = 2;
const V = 6;

/** A model that writes token 3 until its row holds `endAt` tokens (bos included), then eos; records the lengths it was called with. */
function countingModel(endAt: number, lengths: number[] = []): StepFunction {
  return (_tokens, batchSize, length) => {
    lengths.push(length);
    const out = new Float32Array(batchSize * V);
    for (let b = 0; b < batchSize; b++) out[b * V + (length >= endAt ? EOS : 3)] = 5;
    return out;
  };
}

const strategies: DecodeStrategy[] = [{ kind: 'greedy' }, { kind: 'sample', seed: 1, temperature: 0.01 }, { kind: 'beam', beamSize: 2 }];
const base = { batchSize: 2, vocabSize: V, bosTokenId: BOS, eosTokenId: EOS };

describe('finishReason', () => {
  for (const strategy of strategies) {
    it(`says eos, length or context (${strategy.kind})`, async () => {
      const eos = await decodeResults(countingModel(4), { ...base, maxNewTokens: 10 }, strategy);
      expect(eos.map((r) => [r.ids, r.finishReason])).toEqual([[[3, 3, 3], 'eos'], [[3, 3, 3], 'eos']]);
      const length = await decodeResults(countingModel(99), { ...base, maxNewTokens: 5, contextTokens: 8 }, strategy);
      expect(length.map((r) => [r.ids.length, r.finishReason])).toEqual([[5, 'length'], [5, 'length']]);
      const context = await decodeResults(countingModel(99), { ...base, maxNewTokens: 80, contextTokens: 7 }, strategy);
      expect(context.map((r) => [r.ids.length, r.finishReason])).toEqual([[7, 'context'], [7, 'context']]);
      // eos on the last token the context allows is still eos
      const both = await decodeResults(countingModel(7), { ...base, maxNewTokens: 80, contextTokens: 7 }, strategy);
      expect(both.map((r) => [r.ids.length, r.finishReason])).toEqual([[6, 'eos'], [6, 'eos']]);
    });
  }

  it('decodeRows carries it too', async () => {
    const rows = await decodeRows(countingModel(99), { ...base, maxNewTokens: 9, contextTokens: 3 });
    expect(rows.map((r) => r.finishReason)).toEqual(['context', 'context']);
  });
});

describe('sliding window', () => {
  it('crops each row to its last `window` tokens', () => {
    const tokens = Int32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const cropped = cropWindow(tokens, 2, 5, 3);
    expect(cropped.length).toBe(3);
    expect(Array.from(cropped.tokens)).toEqual([3, 4, 5, 8, 9, 10]);
    expect(cropWindow(tokens, 2, 5, 5).tokens).toBe(tokens);
    expect(() => cropWindow(tokens, 2, 5, 0)).toThrow(/window/);
  });

  it('lets decoding go past the context: 80 tokens through a window of 64', async () => {
    const lengths: number[] = [];
    const rows = await decodeResults(slidingWindow(countingModel(999, lengths), 64), { ...base, maxNewTokens: 80 });
    expect(rows.map((r) => [r.ids.length, r.finishReason])).toEqual([[80, 'length'], [80, 'length']]);
    expect(Math.max(...lengths)).toBe(64);
    expect(lengths.slice(62, 66)).toEqual([63, 64, 64, 64]);
  });
});

describe('a row with nothing to choose from', () => {
  /** countingModel(99), except that at step `at` the row `row` of the call is all −∞ or all NaN. */
  function brokenAt(at: number, row: number, fill: 'all -inf' | 'all NaN'): StepFunction {
    const healthy = countingModel(99);
    return async (tokens, batchSize, length, context) => {
      const out = (await healthy(tokens, batchSize, length, context)) as Float32Array;
      if (length === at) out.fill(fill === 'all NaN' ? NaN : -Infinity, row * V, (row + 1) * V);
      return out;
    };
  }

  for (const strategy of strategies) {
    for (const fill of ['all -inf', 'all NaN'] as const) {
      it(`stops with one line naming the step and row (${strategy.kind}, ${fill})`, async () => {
        await expect(decodeResults(brokenAt(3, 1, fill), { ...base, maxNewTokens: 6 }, strategy)).rejects.toThrow(/^decoding step 3, row 1: the logits leave no finite choice \(got (-Infinity|NaN)\)/);
      });
    }
  }

  it('masked tokens alone are no error: beams that took a −∞ token decode on', async () => {
    // V = 3 and beam 3: the first step's candidates include both −∞ tokens, which become beams of log p −∞.
    const step: StepFunction = (_tokens, batchSize) => {
      const out = new Float32Array(batchSize * 3).fill(-Infinity);
      for (let b = 0; b < batchSize; b++) out[b * 3] = 0;
      return out;
    };
    const rows = await decodeResults(step, { batchSize: 1, vocabSize: 3, bosTokenId: 1, eosTokenId: 2, maxNewTokens: 3 }, { kind: 'beam', beamSize: 3 });
    expect(rows[0]!.ids.every((id) => id === 0)).toBe(true);
  });
});
