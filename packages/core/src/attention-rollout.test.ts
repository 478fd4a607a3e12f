// Attention rollout and the CLS grid: hand-worked cases (one layer is ½(A + I) with the heads
// averaged; two layers multiply) and the errors for bad shapes.

import { describe, expect, it } from 'vitest';
import { ShapeError } from './errors.js';
import { attentionRollout, clsAttentionGrid, flatAttentionRollout } from './attention-rollout.js';

const maxAbsDiff = (a: number[], b: number[]): number => Math.max(...a.map((x, i) => Math.abs(x - b[i]!)));

describe('attention rollout', () => {
  it('attention rollout is ½(A + I) for one layer and the product of the layers for two', () => {
    const A = [[0.5, 0.5], [0.2, 0.8]];
    const B = [[1, 0], [0.6, 0.4]];
    const one = attentionRollout([[A, A]]); // two equal heads average to A
    expect(one[0]![0]).toBeCloseTo(0.75);
    expect(one[1]![0]).toBeCloseTo(0.1);
    const half = (m: number[][]): number[][] => m.map((row, i) => row.map((x, j) => 0.5 * x + (i === j ? 0.5 : 0)));
    const [a, b] = [half(A), half(B)];
    const two = attentionRollout([[A], [B]]);
    const want = b.map((row) => [0, 1].map((j) => row[0]! * a[0]![j]! + row[1]! * a[1]![j]!)); // Ā₂·Ā₁
    expect(maxAbsDiff(two.flat(), want.flat())).toBeLessThan(1e-12);
  });

  it('flatAttentionRollout reads [H, T, T] arrays as attentionRollout reads nested ones', () => {
    const A = [[0.5, 0.5], [0.2, 0.8]];
    const B = [[1, 0], [0.6, 0.4]];
    const flat = [Float32Array.from([...A.flat(), ...B.flat()]), Float32Array.from([...B.flat(), ...A.flat()])]; // 2 heads per layer
    expect(maxAbsDiff(flatAttentionRollout(flat, 2).flat(), attentionRollout([[A, B], [B, A]]).flat())).toBeLessThan(1e-7);
    expect(() => flatAttentionRollout([new Float32Array(8), new Float32Array(7)], 2)).toThrow('flatAttentionRollout: 7 weights are not 2 heads × T × T');
  });

  it('clsAttentionGrid lays the CLS row over the patches out as the grid; a non-square count and no layers are errors', () => {
    const row = [0.2, 0.1, 0.2, 0.3, 0.2]; // CLS, then 4 patches
    expect(clsAttentionGrid([row])).toEqual([[0.1, 0.2], [0.3, 0.2]]);
    expect(() => clsAttentionGrid([[0.5, 0.25, 0.25]])).toThrow(ShapeError);
    expect(() => attentionRollout([])).toThrow('attentionRollout: no layers');
  });
});
