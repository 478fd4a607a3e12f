import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ShapeError } from './errors.js';
import { MASKED_SCORE, attentionMask, causalMask, localWindowMask, maskToBias, paddingMask } from './masks.js';

const u8 = (values: number[]): Uint8Array => Uint8Array.from(values);

/** Rows [from, from + count) and columns [0, cols) of a square [size, size] mask. */
function slice(mask: Uint8Array, size: number, from: number, count: number, cols: number): Uint8Array {
  const out = new Uint8Array(count * cols);
  for (let i = 0; i < count; i++) {
    for (let j = 0; j < cols; j++) out[i * cols + j] = mask[(from + i) * size + j]!;
  }
  return out;
}

describe('causalMask', () => {
  it('T=4 by hand: lower triangle including the diagonal', () => {
    // prettier-ignore
    expect(causalMask(4)).toEqual(u8([
      1, 0, 0, 0,
      1, 1, 0, 0,
      1, 1, 1, 0,
      1, 1, 1, 1,
    ]));
  });

  it('T=1 and T=0', () => {
    expect(causalMask(1)).toEqual(u8([1]));
    expect(causalMask(0)).toEqual(u8([]));
  });
});

describe('paddingMask', () => {
  it('[B, T] from lengths by hand', () => {
    // prettier-ignore
    expect(paddingMask([3, 0, 5, 1], 5)).toEqual(u8([
      1, 1, 1, 0, 0,
      0, 0, 0, 0, 0,
      1, 1, 1, 1, 1,
      1, 0, 0, 0, 0,
    ]));
  });

  it('accepts typed arrays of lengths', () => {
    expect(paddingMask(Int32Array.from([2, 1]), 3)).toEqual(u8([1, 1, 0, 1, 0, 0]));
  });

  it('bad lengths throw ShapeError naming the row, the value and the range', () => {
    for (const [bad, shown] of [[6, '6'], [-1, '-1'], [2.5, '2.5'], [Number.NaN, 'NaN']] as const) {
      expect(() => paddingMask([2, bad], 5)).toThrow(ShapeError);
      expect(() => paddingMask([2, bad], 5)).toThrow(`valid length of batch row 1 is ${shown}; expected an integer in [0, 5]`);
    }
  });
});

describe('localWindowMask', () => {
  it('band |i - j| <= 1 for T=5 by hand', () => {
    // prettier-ignore
    expect(localWindowMask(5, 5, 1)).toEqual(u8([
      1, 1, 0, 0, 0,
      1, 1, 1, 0, 0,
      0, 1, 1, 1, 0,
      0, 0, 1, 1, 1,
      0, 0, 0, 1, 1,
    ]));
  });

  it('window 0 is the identity; a window covering everything is all ones', () => {
    expect(localWindowMask(3, 3, 0)).toEqual(u8([1, 0, 0, 0, 1, 0, 0, 0, 1]));
    expect(localWindowMask(3, 3, 2)).toEqual(u8(Array(9).fill(1)));
  });

  it('with a query offset the band is centred on the absolute position', () => {
    // Queries at absolute positions 3 and 4 over 6 keys, window 1.
    // prettier-ignore
    expect(localWindowMask(2, 6, 1, 3)).toEqual(u8([
      0, 0, 1, 1, 1, 0,
      0, 0, 0, 1, 1, 1,
    ]));
  });

  it('a query far past the keys sees nothing', () => {
    expect(localWindowMask(1, 3, 1, 10)).toEqual(u8([0, 0, 0]));
  });
});

describe('attentionMask', () => {
  it('is [B, Tq, Tk] row-major with per-row padding', () => {
    const mask = attentionMask({ batchSize: 2, queryLen: 2, keyLen: 3, keyLengths: [3, 1] });
    // prettier-ignore
    expect(mask).toEqual(u8([
      1, 1, 1,
      1, 1, 1,
      1, 0, 0,
      1, 0, 0,
    ]));
  });

  it('causal + padding by hand', () => {
    const mask = attentionMask({ batchSize: 1, queryLen: 4, keyLen: 4, keyLengths: [2], causal: true });
    // prettier-ignore
    expect(mask).toEqual(u8([
      1, 0, 0, 0,
      1, 1, 0, 0,
      1, 1, 0, 0,
      1, 1, 0, 0,
    ]));
  });

  it('causal + local window by hand (sliding-window decoder)', () => {
    const mask = attentionMask({ batchSize: 1, queryLen: 5, keyLen: 5, causal: true, localWindow: 1 });
    // prettier-ignore
    expect(mask).toEqual(u8([
      1, 0, 0, 0, 0,
      1, 1, 0, 0, 0,
      0, 1, 1, 0, 0,
      0, 0, 1, 1, 0,
      0, 0, 0, 1, 1,
    ]));
  });

  it('with no constraints every key is visible', () => {
    expect(attentionMask({ batchSize: 2, queryLen: 2, keyLen: 3 })).toEqual(u8(Array(12).fill(1)));
  });

  it('equals the AND of the separate padding, causal and local-window masks', () => {
    const spec = fc
      .record({
        batchSize: fc.integer({ min: 1, max: 3 }),
        queryLen: fc.integer({ min: 0, max: 6 }),
        keyLen: fc.integer({ min: 0, max: 8 }),
        queryOffset: fc.integer({ min: 0, max: 6 }),
        causal: fc.boolean(),
        window: fc.option(fc.integer({ min: 0, max: 9 }), { nil: null }),
        usePadding: fc.boolean(),
        lengthFractions: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 3, maxLength: 3 }),
      })
      .map((r) => ({ ...r, lengths: r.lengthFractions.slice(0, r.batchSize).map((f) => Math.round(f * r.keyLen)) }));

    fc.assert(
      fc.property(spec, ({ batchSize: B, queryLen: Tq, keyLen: Tk, queryOffset, causal, window, usePadding, lengths }) => {
        const combined = attentionMask({
          batchSize: B,
          queryLen: Tq,
          keyLen: Tk,
          keyLengths: usePadding ? lengths : undefined,
          causal,
          localWindow: window,
          queryOffset,
        });
        expect(combined.length).toBe(B * Tq * Tk);

        const padding = paddingMask(usePadding ? lengths : Array<number>(B).fill(Tk), Tk); // [B, Tk]
        // Causal part: rows queryOffset .. queryOffset+Tq of a full causal mask, first Tk columns.
        const size = Math.max(Tk, queryOffset + Tq);
        const causalPart = slice(causalMask(size), size, queryOffset, Tq, Tk); // [Tq, Tk]
        const band = window === null ? null : localWindowMask(Tq, Tk, window, queryOffset); // [Tq, Tk]

        for (let b = 0; b < B; b++) {
          for (let i = 0; i < Tq; i++) {
            for (let j = 0; j < Tk; j++) {
              const expected =
                padding[b * Tk + j] === 1 && (!causal || causalPart[i * Tk + j] === 1) && (band === null || band[i * Tk + j] === 1);
              expect(combined[(b * Tq + i) * Tk + j], `b=${b} i=${i} j=${j}`).toBe(expected ? 1 : 0);
            }
          }
        }
      }),
    );
  });

  it('matches the element-wise definition (query i at absolute position i + offset)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 7 }),
        fc.integer({ min: 0, max: 9 }),
        fc.integer({ min: 0, max: 8 }),
        fc.option(fc.integer({ min: 0, max: 4 }), { nil: null }),
        fc.boolean(),
        (Tq, Tk, offset, window, causal) => {
          const mask = attentionMask({ batchSize: 1, queryLen: Tq, keyLen: Tk, causal, localWindow: window, queryOffset: offset });
          for (let i = 0; i < Tq; i++) {
            for (let j = 0; j < Tk; j++) {
              const pos = i + offset;
              const ok = (!causal || j <= pos) && (window === null || Math.abs(pos - j) <= window);
              expect(mask[i * Tk + j]).toBe(ok ? 1 : 0);
            }
          }
        },
      ),
    );
  });

  it('queryOffset: one query per step of KV-cache decoding reproduces the rows of the full causal mask', () => {
    const T = 6;
    const full = causalMask(T);
    for (let t = 0; t < T; t++) {
      // Step t: the cache holds t + 1 keys (0..t), the single query sits at absolute position t.
      const step = attentionMask({ batchSize: 1, queryLen: 1, keyLen: t + 1, causal: true, queryOffset: t });
      expect(step).toEqual(slice(full, T, t, 1, t + 1));
      expect(step).toEqual(u8(Array(t + 1).fill(1)));
    }
  });

  it('queryOffset: a chunk of queries after a cached prefix', () => {
    // Two new queries at absolute positions 3 and 4 over 5 keys (3 cached + 2 new).
    const mask = attentionMask({ batchSize: 1, queryLen: 2, keyLen: 5, causal: true, queryOffset: 3 });
    expect(mask).toEqual(u8([1, 1, 1, 1, 0, 1, 1, 1, 1, 1]));
    expect(mask).toEqual(slice(causalMask(5), 5, 3, 2, 5));
  });

  it('queryOffset: padding still applies to the cached keys', () => {
    const mask = attentionMask({ batchSize: 2, queryLen: 1, keyLen: 4, keyLengths: [4, 2], causal: true, queryOffset: 3 });
    expect(mask).toEqual(u8([1, 1, 1, 1, 1, 1, 0, 0]));
  });

  it('bad key lengths throw ShapeError', () => {
    const base = { batchSize: 2, queryLen: 3, keyLen: 4 };
    expect(() => attentionMask({ ...base, keyLengths: [4, 5] })).toThrow(ShapeError);
    expect(() => attentionMask({ ...base, keyLengths: [4, 5] })).toThrow('valid length of batch row 1 is 5; expected an integer in [0, 4]');
    expect(() => attentionMask({ ...base, keyLengths: [-1, 2] })).toThrow('batch row 0 is -1');
    expect(() => attentionMask({ ...base, keyLengths: [1.5, 2] })).toThrow('batch row 0 is 1.5');
    expect(() => attentionMask({ ...base, keyLengths: [2] })).toThrow('keyLengths has 1 entries for batchSize 2');
  });

  it('bad sizes, offsets and windows throw ShapeError naming the argument', () => {
    const base = { batchSize: 1, queryLen: 2, keyLen: 2 };
    const cases: [Parameters<typeof attentionMask>[0], string][] = [
      [{ ...base, batchSize: -1 }, 'batchSize must be a non-negative integer, got -1'],
      [{ ...base, queryLen: 1.5 }, 'queryLen must be a non-negative integer, got 1.5'],
      [{ ...base, keyLen: Number.NaN }, 'keyLen must be a non-negative integer, got NaN'],
      [{ ...base, queryOffset: -2 }, 'queryOffset must be a non-negative integer, got -2'],
      [{ ...base, localWindow: -1 }, 'localWindow must be a non-negative integer or null, got -1'],
      [{ ...base, localWindow: 0.5 }, 'localWindow must be a non-negative integer or null, got 0.5'],
    ];
    for (const [spec, message] of cases) {
      expect(() => attentionMask(spec)).toThrow(ShapeError);
      expect(() => attentionMask(spec)).toThrow(message);
    }
  });
});

describe('maskToBias', () => {
  it('0 where allowed, MASKED_SCORE where masked', () => {
    const bias = maskToBias(u8([1, 0, 1, 0]));
    expect(bias).toBeInstanceOf(Float32Array);
    expect(Array.from(bias)).toEqual([0, MASKED_SCORE, 0, MASKED_SCORE]);
    expect(MASKED_SCORE).toBe(-1e9);
  });

  it('takes a custom masked value', () => {
    expect(Array.from(maskToBias(u8([0, 1]), Number.NEGATIVE_INFINITY))).toEqual([Number.NEGATIVE_INFINITY, 0]);
  });

  it('in float32 a fully masked row of moderate scores gives a uniform softmax, not NaN', () => {
    const scores = Float32Array.from([0.3, -2, 5, 12]);
    const bias = maskToBias(u8([0, 0, 0, 0]));
    const masked = Float32Array.from(scores, (s, k) => s + bias[k]!); // rounds to float32 like a backend
    const max = Math.max(...masked);
    const exps = Array.from(masked, (m) => Math.exp(m - max));
    const sum = exps.reduce((a, b) => a + b, 0);
    for (const e of exps) expect(e / sum).toBeCloseTo(0.25, 6);
  });
});
