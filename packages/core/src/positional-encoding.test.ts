import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ShapeError } from './errors.js';
import { alibiBias, alibiSlopes, applyRope, ropeTables, sinusoidalTable } from './positional-encoding.js';

/** Element-wise |actual - expected| <= tol (treats -0 and 0 alike). */
function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-6): void {
  expect(actual.length).toBe(expected.length);
  for (let k = 0; k < expected.length; k++) {
    const diff = Math.abs(actual[k]! - expected[k]!);
    expect(diff <= tol, `index ${k}: ${actual[k]} vs ${expected[k]}`).toBe(true);
  }
}

const dot = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let s = 0;
  for (let k = 0; k < a.length; k++) s += a[k]! * b[k]!;
  return s;
};

const norm = (a: ArrayLike<number>): number => Math.sqrt(dot(a, a));

describe('sinusoidalTable', () => {
  it('has shape [maxLen, dModel]', () => {
    expect(sinusoidalTable(7, 10).length).toBe(70);
  });

  it('position 0 is sin 0 = 0 on even columns and cos 0 = 1 on odd columns', () => {
    expectClose(sinusoidalTable(1, 6), [0, 1, 0, 1, 0, 1], 0);
  });

  it('d=4 rows by hand: 10000^(2/4) = 100', () => {
    const pe = sinusoidalTable(3, 4);
    expectClose(pe.subarray(4, 8), [Math.sin(1), Math.cos(1), Math.sin(0.01), Math.cos(0.01)]);
    expectClose(pe.subarray(8, 12), [Math.sin(2), Math.cos(2), Math.sin(0.02), Math.cos(0.02)]);
  });

  it('d=8, pos=5: column 2i uses 5 / 10000^(2i/8)', () => {
    const d = 8;
    const pe = sinusoidalTable(6, d);
    const row = (col: number): number => pe[5 * d + col]!;
    expect(row(0)).toBeCloseTo(Math.sin(5), 6); // 10000^0 = 1
    expect(row(1)).toBeCloseTo(Math.cos(5), 6);
    expect(row(2)).toBeCloseTo(Math.sin(0.5), 6); // 10000^(2/8) = 10
    expect(row(3)).toBeCloseTo(Math.cos(0.5), 6);
    expect(row(4)).toBeCloseTo(Math.sin(0.05), 6); // 10000^(4/8) = 100
    expect(row(6)).toBeCloseTo(Math.sin(0.005), 6); // 10000^(6/8) = 1000
    expect(row(7)).toBeCloseTo(Math.cos(0.005), 6);
  });

  it('odd dModel throws ShapeError', () => {
    expect(() => sinusoidalTable(4, 5)).toThrow(ShapeError);
    expect(() => sinusoidalTable(4, 5)).toThrow('dModel must be even, got 5');
  });
});

describe('ropeTables', () => {
  it('position 0 is cos 1, sin 0; each frequency is repeated for the second half', () => {
    const { cos, sin } = ropeTables(3, 4);
    expectClose(cos.subarray(0, 4), [1, 1, 1, 1], 0);
    expectClose(sin.subarray(0, 4), [0, 0, 0, 0], 0);
    // θ_0 = 1, θ_1 = 10000^(-2/4) = 0.01; position 2.
    expectClose(cos.subarray(8, 12), [Math.cos(2), Math.cos(0.02), Math.cos(2), Math.cos(0.02)]);
    expectClose(sin.subarray(8, 12), [Math.sin(2), Math.sin(0.02), Math.sin(2), Math.sin(0.02)]);
  });

  it('uses the given base', () => {
    const { sin } = ropeTables(2, 4, 100); // θ_1 = 100^(-1/2) = 0.1
    expectClose(sin.subarray(4, 8), [Math.sin(1), Math.sin(0.1), Math.sin(1), Math.sin(0.1)]);
  });

  it('odd head size throws ShapeError', () => {
    expect(() => ropeTables(4, 3)).toThrow(ShapeError);
  });
});

describe('applyRope', () => {
  const maxLen = 64;
  const tables8 = ropeTables(maxLen, 8);

  it('headDim 2 is a plain 2-D rotation by the position', () => {
    const tables = ropeTables(8, 2);
    for (const p of [0, 1, 3, 7]) {
      expectClose(applyRope(Float32Array.from([1, 0]), 1, 2, tables, p), [Math.cos(p), Math.sin(p)]);
      expectClose(applyRope(Float32Array.from([0, 1]), 1, 2, tables, p), [-Math.sin(p), Math.cos(p)]);
    }
  });

  it('rotate-half layout: dimension i pairs with i + headDim/2', () => {
    const tables = ropeTables(4, 4); // θ = [1, 0.01]
    const [a, b, c, d] = [0.5, -1, 2, 0.25];
    const p = 3;
    const [c0, s0, c1, s1] = [Math.cos(p), Math.sin(p), Math.cos(0.01 * p), Math.sin(0.01 * p)];
    expectClose(applyRope(Float32Array.from([a, b, c, d]), 1, 4, tables, p), [
      a * c0 - c * s0,
      b * c1 - d * s1,
      c * c0 + a * s0,
      d * c1 + b * s1,
    ]);
  });

  it('position 0 is the identity and the input is not modified', () => {
    const x = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
    const out = applyRope(x, 1, 8, tables8);
    expect(out).not.toBe(x);
    expectClose(out, x, 0);
    applyRope(x, 1, 8, tables8, 5);
    expect(Array.from(x)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('row t of a sequence is rotated to position offset + t', () => {
    const x = Float32Array.from({ length: 3 * 8 }, (_, k) => Math.sin(k + 1));
    const out = applyRope(x, 3, 8, tables8, 10);
    for (let t = 0; t < 3; t++) {
      const row = applyRope(x.slice(t * 8, (t + 1) * 8), 1, 8, tables8, 10 + t);
      expectClose(out.subarray(t * 8, (t + 1) * 8), row);
    }
  });

  const vector = (dim: number): fc.Arbitrary<Float32Array> =>
    fc.array(fc.double({ min: -4, max: 4, noNaN: true }), { minLength: dim, maxLength: dim }).map((v) => Float32Array.from(v));

  const headDimArb = fc.integer({ min: 1, max: 16 }).map((h) => 2 * h);

  it('preserves vector norms', () => {
    fc.assert(
      fc.property(
        headDimArb.chain((hd) => fc.tuple(fc.constant(hd), vector(hd), fc.integer({ min: 0, max: maxLen - 1 }))),
        ([hd, x, pos]) => {
          const out = applyRope(x, 1, hd, ropeTables(maxLen, hd), pos);
          expect(Math.abs(norm(out) - norm(x))).toBeLessThanOrEqual(1e-4 * (1 + norm(x)));
        },
      ),
    );
  });

  it('q(m)·k(n) depends only on m - n', () => {
    fc.assert(
      fc.property(
        headDimArb.chain((hd) =>
          fc.tuple(
            fc.constant(hd),
            vector(hd),
            vector(hd),
            fc.integer({ min: 0, max: 31 }),
            fc.integer({ min: 0, max: 31 }),
            fc.integer({ min: 0, max: 32 }),
          ),
        ),
        ([hd, q, k, m, n, shift]) => {
          const tables = ropeTables(maxLen, hd);
          const at = (mq: number, nk: number): number => dot(applyRope(q, 1, hd, tables, mq), applyRope(k, 1, hd, tables, nk));
          const tol = 1e-4 * (1 + norm(q) * norm(k));
          // Shifting both positions leaves the score unchanged ...
          expect(Math.abs(at(m, n) - at(m + shift, n + shift))).toBeLessThanOrEqual(tol);
          // ... so it equals the score with the key at 0 (or the query at 0).
          if (m >= n) expect(Math.abs(at(m, n) - at(m - n, 0))).toBeLessThanOrEqual(tol);
          else expect(Math.abs(at(m, n) - at(0, n - m))).toBeLessThanOrEqual(tol);
        },
      ),
    );
  });

  it('the score does change with the distance (positions are not ignored)', () => {
    const q = Float32Array.from([1, 0, 0, 0, 0, 0, 0, 0]);
    const at = (m: number, n: number): number => dot(applyRope(q, 1, 8, tables8, m), applyRope(q, 1, 8, tables8, n));
    expect(at(0, 0)).toBeCloseTo(1, 6);
    expect(at(1, 0)).toBeCloseTo(Math.cos(1), 6);
    expect(at(5, 2)).toBeCloseTo(Math.cos(3), 5);
  });
});

describe('alibiSlopes', () => {
  it('8 heads: 2^-1 … 2^-8', () => {
    expect(Array.from(alibiSlopes(8))).toEqual([1, 2, 3, 4, 5, 6, 7, 8].map((k) => 2 ** -k));
  });

  it('powers of two: 2^(-8k/n)', () => {
    expect(Array.from(alibiSlopes(1))).toEqual([2 ** -8]);
    expect(Array.from(alibiSlopes(2))).toEqual([2 ** -4, 2 ** -8]);
    expect(Array.from(alibiSlopes(4))).toEqual([2 ** -2, 2 ** -4, 2 ** -6, 2 ** -8]);
    expectClose(alibiSlopes(16), Array.from({ length: 16 }, (_, k) => 2 ** (-(k + 1) / 2)));
  });

  it('6 heads: the 4-head slopes, then every other 8-head slope (2^-1, 2^-3)', () => {
    expect(Array.from(alibiSlopes(6))).toEqual([2 ** -2, 2 ** -4, 2 ** -6, 2 ** -8, 2 ** -1, 2 ** -3]);
  });

  it('12 heads: the 8-head slopes, then 16-head slopes 2^-0.5, 2^-1.5, 2^-2.5, 2^-3.5', () => {
    const expected = [...[1, 2, 3, 4, 5, 6, 7, 8].map((k) => 2 ** -k), 2 ** -0.5, 2 ** -1.5, 2 ** -2.5, 2 ** -3.5];
    expectClose(alibiSlopes(12), expected);
  });

  it('3 heads: 2^-4, 2^-8, then 2^-2', () => {
    expect(Array.from(alibiSlopes(3))).toEqual([2 ** -4, 2 ** -8, 2 ** -2]);
  });

  it('one distinct positive slope per head for any head count', () => {
    for (let n = 1; n <= 40; n++) {
      const slopes = Array.from(alibiSlopes(n));
      expect(slopes.length).toBe(n);
      expect(new Set(slopes).size).toBe(n);
      for (const s of slopes) expect(s > 0 && s < 1).toBe(true);
    }
  });
});

describe('alibiBias', () => {
  it('[H, Tq, Tk] of -slope · |i - j| by hand', () => {
    const s0 = 2 ** -4;
    const s1 = 2 ** -8;
    // prettier-ignore
    expectClose(alibiBias(2, 3, 3), [
      0, -s0, -2 * s0,
      -s0, 0, -s0,
      -2 * s0, -s0, 0,
      0, -s1, -2 * s1,
      -s1, 0, -s1,
      -2 * s1, -s1, 0,
    ], 0);
  });

  it('queryOffset puts query i at absolute position i + offset', () => {
    const s = 2 ** -8;
    expectClose(alibiBias(1, 1, 4, 3), [-3 * s, -2 * s, -s, 0], 0);
    expectClose(alibiBias(1, 2, 3, 1), [-s, 0, -s, -2 * s, -s, 0], 0);
  });

  it('uses alibiSlopes per head for non-power-of-two head counts', () => {
    const bias = alibiBias(6, 1, 2);
    const slopes = [2 ** -2, 2 ** -4, 2 ** -6, 2 ** -8, 2 ** -1, 2 ** -3];
    expectClose(bias, slopes.flatMap((s) => [0, -s]), 0);
  });
});
