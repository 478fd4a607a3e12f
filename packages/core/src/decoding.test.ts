import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { argmax, greedyDecode, type GreedyOptions, type StepFunction } from './decoding.js';
import { ShapeError } from './errors.js';

const V = 10;
const BOS = 1;
const EOS = 2;

interface Call {
  length: number;
  batchSize: number;
  /** tokens as [batchSize][length]. */
  rows: number[][];
}

/**
 * A fake model: row b emits scripts[b][length - 1] at each step (one-hot logits), and
 * records every call. A script that runs out keeps emitting `after` (default 9), so a test
 * sees it if decoding ever reads past a row's eos.
 */
function scripted(scripts: number[][], after = 9): { step: StepFunction; calls: Call[] } {
  const calls: Call[] = [];
  const step: StepFunction = (tokens, batchSize, length) => {
    expect(tokens.length).toBe(batchSize * length);
    calls.push({
      length,
      batchSize,
      rows: Array.from({ length: batchSize }, (_, b) => Array.from(tokens.subarray(b * length, (b + 1) * length))),
    });
    const logits = new Float32Array(batchSize * V).fill(-1);
    for (let b = 0; b < batchSize; b++) {
      const next = scripts[b]?.[length - 1] ?? after;
      logits[b * V + next] = 3;
    }
    return logits;
  };
  return { step, calls };
}

const options = (batchSize: number, maxNewTokens: number, extra: Partial<GreedyOptions> = {}): GreedyOptions => ({
  batchSize,
  vocabSize: V,
  bosTokenId: BOS,
  eosTokenId: EOS,
  maxNewTokens,
  ...extra,
});

describe('greedyDecode', () => {
  it('spells a fixed sequence then stops at eos (without returning bos or eos)', async () => {
    const { step, calls } = scripted([[5, 3, 7, EOS]]);
    expect(await greedyDecode(step, options(1, 20))).toEqual([[5, 3, 7]]);
    expect(calls.map((c) => c.length)).toEqual([1, 2, 3, 4]);
    // Each call sees bos followed by everything emitted so far.
    expect(calls.map((c) => c.rows[0])).toEqual([[BOS], [BOS, 5], [BOS, 5, 3], [BOS, 5, 3, 7]]);
  });

  it('rows finish at different steps; finished rows are fed eos and emit nothing more', async () => {
    const { step, calls } = scripted([[4, EOS], [5, 6, 7, EOS], [EOS]]);
    expect(await greedyDecode(step, options(3, 20))).toEqual([[4], [5, 6, 7], []]);
    expect(calls.length).toBe(4);
    expect(calls.every((c) => c.batchSize === 3)).toBe(true);
    expect(calls[3]!.rows).toEqual([
      [BOS, 4, EOS, EOS],
      [BOS, 5, 6, 7],
      [BOS, EOS, EOS, EOS],
    ]);
  });

  it('maxNewTokens cuts rows that never emit eos', async () => {
    const { step, calls } = scripted([[3, 4, 5, 6, 7, 8], [6, EOS]]);
    expect(await greedyDecode(step, options(2, 3))).toEqual([[3, 4, 5], [6]]);
    expect(calls.length).toBe(3);
  });

  it('eos on the last allowed step is not returned', async () => {
    const { step } = scripted([[3, 4, EOS]]);
    expect(await greedyDecode(step, options(1, 3))).toEqual([[3, 4]]);
  });

  it('maxNewTokens = 0 never calls the model', async () => {
    const { step, calls } = scripted([[3]]);
    expect(await greedyDecode(step, options(2, 0))).toEqual([[], []]);
    expect(calls.length).toBe(0);
  });

  it('accepts an async step function', async () => {
    const { step } = scripted([[8, 7, EOS]]);
    const asyncStep: StepFunction = async (tokens, b, t) => {
      await Promise.resolve();
      return step(tokens, b, t);
    };
    expect(await greedyDecode(asyncStep, options(1, 10))).toEqual([[8, 7]]);
  });

  it('picks the argmax of each row, whatever the other logits', async () => {
    const step: StepFunction = (_tokens, batchSize) => {
      // row 0: the max is at 6 among varied values; row 1: a tie between 4 and 8 resolves to 4.
      const rows = [
        [0.1, -3, 0.5, 0.2, 1.9, 0, 2.5, 2.4, -1, 0],
        [0, 0, 0, 0, 7, 0, 0, 0, 7, 0],
      ];
      return Float32Array.from(rows.slice(0, batchSize).flat());
    };
    expect(await greedyDecode(step, options(2, 2))).toEqual([
      [6, 6],
      [4, 4],
    ]);
  });

  it('wrong logits length rejects with ShapeError naming both sizes', async () => {
    const step: StepFunction = (_tokens, batchSize) => new Float32Array(batchSize * (V - 1));
    await expect(greedyDecode(step, options(2, 5))).rejects.toThrow(ShapeError);
    await expect(greedyDecode(step, options(2, 5))).rejects.toThrow('returned 18 logits, expected batchSize·vocabSize = 20');
  });

  it('onToken streams every step, including the one that ends decoding', async () => {
    const { step } = scripted([[4, EOS], [5, 6, EOS]]);
    const seen: [number, number[]][] = [];
    const result = await greedyDecode(step, options(2, 20, { onToken: (t, tokens) => seen.push([t, Array.from(tokens)]) }));
    expect(result).toEqual([[4], [5, 6]]);
    expect(seen).toEqual([
      [1, [4, 5]],
      [2, [EOS, 6]],
      [3, [EOS, EOS]],
    ]);
  });

  it('onToken stops with maxNewTokens', async () => {
    const { step } = scripted([[3, 3, 3, 3]]);
    const steps: number[] = [];
    await greedyDecode(step, options(1, 2, { onToken: (t) => steps.push(t) }));
    expect(steps).toEqual([1, 2]);
  });

  it('matches a per-row reference for random scripts', async () => {
    const scriptArb = fc.array(fc.array(fc.integer({ min: 0, max: V - 1 }), { maxLength: 8 }), { minLength: 1, maxLength: 4 });
    await fc.assert(
      fc.asyncProperty(scriptArb, fc.integer({ min: 0, max: 10 }), async (scripts, maxNew) => {
        const { step } = scripted(scripts);
        const expected = scripts.map((script) => {
          const out: number[] = [];
          for (let t = 0; t < maxNew; t++) {
            const token = script[t] ?? 9;
            if (token === EOS) break;
            out.push(token);
          }
          return out;
        });
        expect(await greedyDecode(step, options(scripts.length, maxNew))).toEqual(expected);
      }),
    );
  });
});

describe('argmax', () => {
  it('returns the first index on ties', () => {
    expect(argmax([1, 3, 3, 2])).toBe(1);
    expect(argmax([5, 5, 5])).toBe(0);
  });

  it('handles negative values and -Infinity', () => {
    expect(argmax([-5, -2, -9])).toBe(1);
    expect(argmax([Number.NEGATIVE_INFINITY, -1e30])).toBe(1);
    expect(argmax([Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY])).toBe(0);
  });

  it('offset and length select a window; the index is relative to the offset', () => {
    const values = Float32Array.from([9, 1, 5, 5, 0, 8]);
    expect(argmax(values, 1, 3)).toBe(1);
    expect(argmax(values, 3, 3)).toBe(2);
    expect(argmax(values, 2)).toBe(3);
  });

  it('agrees with indexOf(max) on random arrays', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -5, max: 5 }), { minLength: 1, maxLength: 30 }), (values) => {
        expect(argmax(values)).toBe(values.indexOf(Math.max(...values)));
      }),
    );
  });
});
