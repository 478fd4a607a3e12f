// The wasm UnsortedSegmentSum kernel: hand-computed sums, ids outside [0, numSegments)
// dropped, multi-dimensional ids and rows, and the embedding (Gather) gradient it exists for,
// which must equal the cpu backend's.

import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { createRng } from '@attend/core';
import { setupBackend } from '../backend.js';
import { registerMissingWasmKernels } from './index.js';
import { unsortedSegmentSum, unsortedSegmentSumWasmConfig } from './unsorted-segment-sum.js';

beforeAll(async () => {
  expect((await setupBackend(['wasm'])).name).toBe('wasm');
});

/** Runs `fn` on the named backend and returns to wasm. */
async function on<T>(backend: 'cpu' | 'wasm', fn: () => T): Promise<T> {
  await setupBackend([backend]);
  try {
    return fn();
  } finally {
    await setupBackend(['wasm']);
  }
}

describe('unsortedSegmentSum (plain arrays)', () => {
  it('sums rows into their segments, drops ids outside [0, numSegments) and clears the output first', () => {
    // x: 5 rows of 2; ids 2, 0, 2, 3 (≥ numSegments), −1.
    const x = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    const out = new Float32Array(6).fill(99);
    unsortedSegmentSum(x, [2, 0, 2, 3, -1], 2, out);
    expect(Array.from(out)).toEqual([3, 4, 0, 0, 1 + 5, 2 + 6]);
  });

  it('works on int32 outputs and rows of size 1', () => {
    const out = new Int32Array(3);
    unsortedSegmentSum(Int32Array.from([5, -2, 7, 1]), Int32Array.from([1, 1, 0, 1]), 1, out);
    expect(Array.from(out)).toEqual([7, 4, 0]);
  });
});

describe('UnsortedSegmentSum on wasm', () => {
  it('is registered for wasm by setupBackend, once', () => {
    expect(tf.getBackend()).toBe('wasm');
    expect(tf.getKernel('UnsortedSegmentSum', 'wasm')?.kernelFunc).toBe(unsortedSegmentSumWasmConfig.kernelFunc);
    expect(() => registerMissingWasmKernels()).not.toThrow();
  });

  it('matches a hand computation, float32 rows, out-of-range ids dropped', () => {
    const got = tf.tidy(() => {
      const x = tf.tensor2d([[1, 2, 3], [10, 20, 30], [100, 200, 300], [-1, -1, -1], [5, 5, 5]]);
      const ids = tf.tensor1d([3, 0, 3, 4, -2], 'int32');
      const out = tf.unsortedSegmentSum(x, ids, 4);
      expect(out.shape).toEqual([4, 3]);
      expect(out.dtype).toBe('float32');
      return out.arraySync();
    });
    expect(got).toEqual([
      [10, 20, 30],
      [0, 0, 0],
      [0, 0, 0],
      [101, 202, 303],
    ]);
  });

  it('keeps int32 data int32 and handles empty input, with the cpu backend\'s values', async () => {
    const run = (): unknown[] =>
      tf.tidy(() => {
        const ints = tf.unsortedSegmentSum(tf.tensor1d([4, 5, 6, 7], 'int32'), tf.tensor1d([1, 0, 1, 1], 'int32'), 2);
        const empty = tf.unsortedSegmentSum(tf.zeros([0, 3]), tf.tensor1d([], 'int32'), 2);
        return [ints.dtype, ints.arraySync(), empty.shape, empty.arraySync()];
      });
    const wasm = run();
    expect(wasm).toEqual(['int32', [5, 4 + 6 + 7], [2, 3], [[0, 0, 0], [0, 0, 0]]]);
    // Same values on cpu, whose kernel returns int32 sums as float32 (TensorFlow keeps int32, as wasm does).
    expect((await on('cpu', run)).slice(1)).toEqual(wasm.slice(1));
  });

  it('takes rank-2 ids over the leading two axes of rank-3 data (as TensorFlow does)', async () => {
    const rows = [[[1, 2], [3, 4], [5, 6]], [[7, 8], [9, 10], [11, 12]]];
    const ids = [[0, 1, 0], [2, 9, 1]];
    // The op's typings say Tensor1D; the kernel (like TensorFlow's) accepts any leading ids shape.
    const got = tf.tidy(() => tf.unsortedSegmentSum(tf.tensor3d(rows), tf.tensor2d(ids, [2, 3], 'int32') as tf.Tensor as tf.Tensor1D, 3).arraySync());
    expect(got).toEqual([[1 + 5, 2 + 6], [3 + 11, 4 + 12], [7, 8]]);
    // tfjs's cpu kernel cannot broadcast rank-2 ids; it agrees on the flattened problem.
    const flatCpu = await on('cpu', () => tf.tidy(() => tf.unsortedSegmentSum(tf.tensor2d(rows.flat()), tf.tensor1d(ids.flat(), 'int32'), 3).arraySync()));
    expect(got).toEqual(flatCpu);
  });
});

describe('embedding (Gather) gradient', () => {
  const V = 9;
  const d = 5;
  const rng = createRng(1);
  const table = Array.from({ length: V * d }, () => rng.normal());
  // Repeated ids (3 and 7 several times), some ids absent, 2-D like a token batch.
  const ids = [
    [3, 7, 3, 0],
    [7, 7, 1, 3],
  ];
  const upstream = Array.from({ length: 8 * d }, () => rng.normal());

  const gradient = (): number[][] =>
    tf.tidy(() => {
      const E = tf.tensor2d(table, [V, d]);
      const idx = tf.tensor2d(ids, [2, 4], 'int32');
      const w = tf.tensor3d(upstream, [2, 4, d]);
      const g = tf.grad((e: tf.Tensor) => tf.sum(tf.mul(tf.gather(e, idx), w)))(E);
      return g.arraySync() as number[][];
    });

  it('on wasm equals the hand-computed scatter-add and the cpu backend', async () => {
    const expected = Array.from({ length: V }, () => new Array<number>(d).fill(0));
    ids.flat().forEach((id, n) => {
      for (let c = 0; c < d; c++) expected[id]![c]! += upstream[n * d + c]!;
    });
    const wasm = gradient();
    const cpu = await on('cpu', gradient);
    for (let v = 0; v < V; v++) {
      for (let c = 0; c < d; c++) {
        expect(wasm[v]![c]!).toBeCloseTo(expected[v]![c]!, 5);
        expect(wasm[v]![c]!).toBeCloseTo(cpu[v]![c]!, 5);
      }
    }
    // Rows of absent ids are exactly zero.
    for (const v of [2, 4, 5, 6, 8]) expect(wasm[v]).toEqual(new Array(d).fill(0));
  });

  it('needs the kernel: without it the wasm gradient fails, and registering it again restores it', () => {
    tf.unregisterKernel('UnsortedSegmentSum', 'wasm');
    try {
      expect(gradient).toThrow(/UnsortedSegmentSum/);
    } finally {
      registerMissingWasmKernels();
    }
    expect(tf.getKernel('UnsortedSegmentSum', 'wasm')).toBeDefined();
    expect(gradient()[3]![0]).toBeCloseTo(upstream[0]! + upstream[2 * d]! + upstream[7 * d]!, 5);
  });
});
