import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createRng } from './random.js';

const take = (seed: number, n: number): number[] => {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => rng.next());
};

/** Pearson's chi-square statistic of observed counts against equal expected counts. */
function chiSquare(counts: number[]): number {
  const total = counts.reduce((a, b) => a + b, 0);
  const expected = total / counts.length;
  return counts.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
}

describe('createRng streams', () => {
  it('the same seed gives the same stream', () => {
    expect(take(1234, 200)).toEqual(take(1234, 200));
    const a = createRng(7);
    const b = createRng(7);
    expect([a.int(100), a.normal(), a.normal(), a.next()]).toEqual([b.int(100), b.normal(), b.normal(), b.next()]);
  });

  it('is xoshiro128** seeded through splitmix32 (outputs checked against the C reference)', () => {
    // The reference: xoshiro128** from prng.di.unimi.it, state = four splitmix32(42) outputs.
    expect(take(42, 5).map((x) => x * 2 ** 32)).toEqual([2837322924, 544945897, 479756282, 3500138142, 339756180]);
  });

  it('different seeds give different streams, also for adjacent seeds', () => {
    const firsts = new Set<number>();
    for (let seed = 0; seed < 1000; seed++) firsts.add(take(seed, 1)[0]!);
    expect(firsts.size).toBe(1000);

    const a = take(1, 1000);
    const b = take(2, 1000);
    expect(a.filter((x, k) => x === b[k]).length).toBe(0);
  });

  it('fractional seeds are floored; non-finite seeds are rejected', () => {
    expect(take(3.9, 5)).toEqual(take(3, 5));
    expect(() => createRng(Number.NaN)).toThrow(RangeError);
    expect(() => createRng(Number.POSITIVE_INFINITY)).toThrow(RangeError);
  });

  it('next() is in [0, 1) with mean about 1/2', () => {
    const xs = take(99, 10_000);
    for (const x of xs) expect(x >= 0 && x < 1).toBe(true);
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.015); // ~5 standard errors
  });
});

describe('int', () => {
  it('stays in [0, n) and returns integers', () => {
    const rng = createRng(5);
    for (const n of [1, 2, 7, 1000, 2 ** 31]) {
      for (let k = 0; k < 500; k++) {
        const x = rng.int(n);
        expect(Number.isInteger(x)).toBe(true);
        expect(x >= 0 && x < n).toBe(true);
      }
    }
    expect(rng.int(1)).toBe(0);
  });

  it('is roughly uniform (chi-square, 9 degrees of freedom)', () => {
    for (const seed of [1, 2, 3]) {
      const rng = createRng(seed);
      const counts = Array<number>(10).fill(0);
      for (let k = 0; k < 50_000; k++) counts[rng.int(10)]!++;
      // P(chi2_9 > 40) < 1e-5; a biased generator (e.g. one value never drawn) lands in the thousands.
      expect(chiSquare(counts)).toBeLessThan(40);
    }
  });

  it('reaches every value of a small range', () => {
    const rng = createRng(11);
    const seen = new Set<number>();
    for (let k = 0; k < 500; k++) seen.add(rng.int(13));
    expect(seen.size).toBe(13);
  });

  it('rejects n that is not a positive integer', () => {
    const rng = createRng(0);
    for (const n of [0, -3, 2.5, Number.NaN]) expect(() => rng.int(n)).toThrow(RangeError);
  });
});

describe('normal', () => {
  it('has mean ≈ 0, variance ≈ 1 and ≈ 68.3% of samples within one sigma over 10k samples', () => {
    const rng = createRng(2024);
    const xs = Array.from({ length: 10_000 }, () => rng.normal());
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    const variance = xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (xs.length - 1);
    const withinOne = xs.filter((x) => Math.abs(x) < 1).length / xs.length;
    expect(Math.abs(mean)).toBeLessThan(0.05); // standard error 0.01
    expect(Math.abs(variance - 1)).toBeLessThan(0.07); // standard error ≈ 0.014
    expect(Math.abs(withinOne - 0.6827)).toBeLessThan(0.02);
    expect(xs.every(Number.isFinite)).toBe(true);
  });

  it('both Box–Muller outputs are used: consecutive pairs are uncorrelated', () => {
    const rng = createRng(8);
    let sxy = 0;
    const n = 5000;
    for (let k = 0; k < n; k++) sxy += rng.normal() * rng.normal();
    expect(Math.abs(sxy / n)).toBeLessThan(0.06);
  });
});

describe('shuffle', () => {
  it('returns the same array holding a permutation of its items', () => {
    fc.assert(
      fc.property(fc.array(fc.integer()), fc.integer(), (items, seed) => {
        const copy = [...items];
        const out = createRng(seed).shuffle(copy);
        expect(out).toBe(copy);
        expect([...out].sort((a, b) => a - b)).toEqual([...items].sort((a, b) => a - b));
      }),
    );
  });

  it('is reproducible from the seed and differs between seeds', () => {
    const base = Array.from({ length: 20 }, (_, k) => k);
    expect(createRng(4).shuffle([...base])).toEqual(createRng(4).shuffle([...base]));
    expect(createRng(4).shuffle([...base])).not.toEqual(createRng(5).shuffle([...base]));
  });

  it('all 6 orders of 3 items are about equally likely', () => {
    const rng = createRng(31);
    const counts = new Map<string, number>();
    for (let k = 0; k < 30_000; k++) {
      const key = rng.shuffle(['a', 'b', 'c']).join('');
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    expect(counts.size).toBe(6);
    // 5 degrees of freedom: P(chi2_5 > 30) < 2e-5.
    expect(chiSquare([...counts.values()])).toBeLessThan(30);
  });
});

describe('pick', () => {
  it('returns items of the list, each of them eventually', () => {
    const rng = createRng(3);
    const items = ['x', 'y', 'z', 'w'] as const;
    const seen = new Set<string>();
    for (let k = 0; k < 200; k++) {
      const item = rng.pick(items);
      expect(items).toContain(item);
      seen.add(item);
    }
    expect(seen.size).toBe(4);
  });

  it('throws on an empty list', () => {
    expect(() => createRng(0).pick([])).toThrow(RangeError);
  });
});
