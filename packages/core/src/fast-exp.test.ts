import { describe, expect, it } from 'vitest';
import { fastExp, jsExpSum, LOG_SUM_EXP_ERROR, logSumExp, simdRow, sumExp } from './fast-exp.js';
import { createRng } from './random.js';

describe('fastExp', () => {
  it('agrees with Math.exp to 1e-15 relative over the table and beyond it', () => {
    const rng = createRng(7);
    let worst = 0;
    for (let i = 0; i < 200_000; i++) {
      // Dense near 0 (softmax's busy range), then out to −140 (past the table's end).
      const x = i < 100_000 ? -rng.next() * 20 : -rng.next() * 140;
      const exact = Math.exp(x);
      worst = Math.max(worst, Math.abs(fastExp(x) - exact) / exact);
    }
    expect(worst).toBeLessThan(1e-15);
    for (const k of [0, 1, 63, 64, 65, 8191, 8192]) expect(Math.abs(fastExp(-k / 64) - Math.exp(-k / 64)) / Math.exp(-k / 64)).toBeLessThan(1e-15);
  });

  it('gives Math.exp for what the table does not cover', () => {
    expect(fastExp(0)).toBe(1);
    expect(fastExp(0.5)).toBe(Math.exp(0.5));
    expect(fastExp(-Infinity)).toBe(0);
    expect(fastExp(-1000)).toBe(0);
    expect(Number.isNaN(fastExp(Number.NaN))).toBe(true);
  });

  it('sums a softmax denominator as Math.exp does, with a scale (temperature)', () => {
    const rng = createRng(3);
    const values = Float32Array.from({ length: 50_257 }, () => 4 * rng.normal());
    let max = -Infinity;
    for (const v of values) max = Math.max(max, v);
    for (const scale of [1, 1 / 0.7]) {
      let exact = 0;
      for (const v of values) exact += Math.exp((v - max) * scale);
      expect(Math.abs(sumExp(values, 0, values.length, max, scale) - exact) / exact).toBeLessThan(1e-13);
    }
    expect(sumExp(values, 10, 0, max)).toBe(0);
  });
});

describe('logSumExp', () => {
  const simdExpSum = (values: Float32Array, offset: number, length: number, max: number): number => {
    simdRow()!.load(values, offset, length);
    return simdRow()!.expSum(max);
  };

  it('sums float32 rows with the WebAssembly SIMD kernel in Node, anything else in JavaScript', () => {
    expect(simdRow()).toBeDefined();
    const values = Float32Array.from([0.5, -1, 2, -3, 1.25]);
    expect(logSumExp(values, 1, 3, 2)).toBe(2 + Math.log(simdExpSum(values, 1, 3, 2)));
    expect(logSumExp(Array.from(values), 1, 3, 2)).toBe(2 + Math.log(jsExpSum(values, 1, 3, 2)));
  });

  it("SIMD row: atLeast gives the loaded row's indices of values ≥ the bound, ascending, without NaN or the −∞ pads", () => {
    const values = Float32Array.from([1, 5, Number.NaN, 5, -Infinity, 3, 7, 2, 9]);
    simdRow()!.load(values, 0, values.length);
    expect(Array.from(simdRow()!.atLeast(5))).toEqual([1, 3, 6, 8]);
    expect(Array.from(simdRow()!.atLeast(-Infinity))).toEqual([0, 1, 3, 4, 5, 6, 7, 8]);
    expect(Array.from(simdRow()!.atLeast(100))).toEqual([]);
    simdRow()!.load(values, 1, 6);
    expect(Array.from(simdRow()!.atLeast(5))).toEqual([0, 2, 5]);
  });

  describe.each([
    ['JavaScript', jsExpSum],
    ['WebAssembly SIMD', simdExpSum],
  ])('with its %s exp sum', (_name, expSum) => {
    const lse = (values: Float32Array, offset: number, length: number, max: number): number => max + Math.log(expSum(values, offset, length, max));

    /** The relative error of the sum against Math.exp's: exp(got − exact) − 1, with max + log Σ exp(v − max) exact to ~1e-16. */
    function error(values: Float32Array): number {
      let max = -Infinity;
      for (const v of values) max = Math.max(max, v);
      let exact = 0;
      for (const v of values) exact += Math.exp(v - max);
      return Math.abs(Math.expm1(lse(values, 0, values.length, max) - max - Math.log(exact)));
    }

    it('keeps the sum within LOG_SUM_EXP_ERROR of Math.exp on vocabulary-sized rows, of every length mod 4', () => {
      const rng = createRng(5);
      for (const [length, spread] of [[50_257, 2], [50_256, 4], [32_002, 20], [32_003, 8], [69, 2], [2, 1], [1, 1]] as const) {
        const values = Float32Array.from({ length }, () => spread * rng.normal());
        expect(error(values)).toBeLessThan(LOG_SUM_EXP_ERROR);
      }
    });

    it('reaches close to the bound where every term sits half a table step off, and no further', () => {
      // max, then values (k + ½)/64 below it: each polynomial works at its widest |r| = 1/128.
      const values = Float32Array.from({ length: 4097 }, (_, i) => (i === 0 ? 3 : 3 - (((i - 1) % 512) + 0.5) / 64));
      const worst = error(values);
      expect(worst).toBeLessThan(LOG_SUM_EXP_ERROR);
      expect(worst).toBeGreaterThan(LOG_SUM_EXP_ERROR / 10);
    });

    it('counts values far below the max, −∞ and NaN as (nearly) nothing, and reads only its window', () => {
      const values = Float32Array.from([0, -Infinity, -1000, -129, 1.5, -Infinity]);
      expect(Math.abs(lse(values, 0, values.length, 1.5) - Math.log(1 + Math.exp(1.5)))).toBeLessThan(LOG_SUM_EXP_ERROR);
      expect(lse(Float32Array.from([-Infinity, 7, Number.NaN]), 1, 1, 7)).toBe(7);
      expect(lse(Float32Array.from([9, 7, Number.NaN, 99]), 1, 2, 7)).toBe(7);
    });

    it('gives equal values equal weight: n ties sum to n exactly', () => {
      for (const n of [1, 2, 3, 4, 50_257]) expect(lse(new Float32Array(n).fill(-2.5), 0, n, -2.5)).toBe(-2.5 + Math.log(n));
    });
  });
});
