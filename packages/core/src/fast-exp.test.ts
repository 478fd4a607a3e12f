import { describe, expect, it } from 'vitest';
import { fastExp, sumExp } from './fast-exp.js';
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
