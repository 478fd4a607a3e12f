// The wasm-speed formulations in ops.ts must compute what the plain tfjs ops compute: the
// depthwise-convolution batched MatMul (exact), the hand-written layer norm and GELU gradients,
// and the one-hot embedding lookup with its gradient.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { createRng } from '@attend/core';
import { setupBackend } from './backend.js';
import { activate, addN, batchMatMul, embeddingLookup, expNonPositive, layerNorm, matMul, matMulBT } from './ops.js';

beforeAll(async () => {
  expect((await setupBackend(['wasm'])).name).toBe('wasm');
});

const rng = createRng(7);
const randn = (shape: number[]): tf.Tensor => tf.tensor(Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal()), shape);
const maxDiff = (a: tf.Tensor, b: tf.Tensor): number => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);

describe('batchMatMul (depthwise convolution)', () => {
  it('equals tf.matMul exactly, with and without transposed b, rank 3 and 4', () => {
    tf.tidy(() => {
      const a = randn([3, 2, 5, 7]);
      const b = randn([3, 2, 7, 4]);
      expect(maxDiff(batchMatMul(a, b), tf.matMul(a, b))).toBe(0);
      const bt = randn([3, 2, 4, 7]);
      expect(maxDiff(batchMatMul(a, bt, true), tf.matMul(a, bt, false, true))).toBeLessThan(1e-5);
      const a3 = randn([6, 1, 9]);
      const b3 = randn([6, 9, 3]);
      expect(batchMatMul(a3, b3).shape).toEqual([6, 1, 3]);
      expect(maxDiff(batchMatMul(a3, b3), tf.matMul(a3, b3))).toBe(0);
    });
  });

  it('gives matMul and matMulBT the gradients of tf.matMul', () => {
    tf.tidy(() => {
      const a = randn([2, 3, 5, 4]);
      const b = randn([2, 3, 4, 6]);
      const w = randn([2, 3, 5, 6]);
      const ours = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(matMul(x, y), w)))([a, b]);
      const ref = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x, y), w)))([a, b]);
      ours.forEach((g, i) => expect(maxDiff(g, ref[i]!)).toBeLessThan(1e-4));
      const bt = randn([2, 3, 6, 4]);
      const oursBT = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(matMulBT(x, y), w)))([a, bt]);
      const refBT = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x, y, false, true), w)))([a, bt]);
      oursBT.forEach((g, i) => expect(maxDiff(g, refBT[i]!)).toBeLessThan(1e-4));
    });
  });
});

describe('layer norm and GELU with hand-written gradients', () => {
  it('match the autodiff of the textbook formulas', () => {
    tf.tidy(() => {
      const x = tf.add(tf.mul(randn([2, 3, 8]), 3), 1);
      const gamma = randn([8]);
      const beta = randn([8]);
      const w = randn([2, 3, 8]);
      const textbook = (v: tf.Tensor, g: tf.Tensor, b: tf.Tensor): tf.Tensor => {
        const { mean, variance } = tf.moments(v, -1, true);
        return tf.add(tf.mul(tf.div(tf.sub(v, mean), tf.sqrt(tf.add(variance, 1e-5))), g), b);
      };
      expect(maxDiff(layerNorm(x, gamma, beta, 1e-5), textbook(x, gamma, beta))).toBeLessThan(1e-5);
      const ours = tf.grads((v: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(layerNorm(v, g, b, 1e-5), w)))([x, gamma, beta]);
      const ref = tf.grads((v: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(textbook(v, g, b), w)))([x, gamma, beta]);
      ours.forEach((g, i) => expect(maxDiff(g, ref[i]!)).toBeLessThan(1e-4));

      const z = tf.mul(randn([4, 16]), 2);
      const geluRef = (v: tf.Tensor): tf.Tensor => tf.mul(tf.mul(v, 0.5), tf.add(tf.erf(tf.mul(v, Math.SQRT1_2)), 1));
      expect(maxDiff(activate(z, 'gelu'), geluRef(z))).toBeLessThan(1e-6);
      expect(maxDiff(tf.grad((v: tf.Tensor) => tf.sum(tf.mul(activate(v, 'gelu'), z)))(z), tf.grad((v: tf.Tensor) => tf.sum(tf.mul(geluRef(v), z)))(z))).toBeLessThan(1e-5);
    });
  });
});

describe('embeddingLookup', () => {
  it('equals gather, and its gradient equals the scatter-add, for one-hot and gather paths', () => {
    tf.tidy(() => {
      for (const V of [11, 300]) {
        const table = randn([V, 5]);
        const ids = Int32Array.from([3, 7, 3, 0, 10, 7]);
        const w = randn([2, 3, 5]);
        const idT = tf.tensor2d(ids, [2, 3], 'int32');
        expect(maxDiff(embeddingLookup(table, ids, [2, 3]), tf.gather(table, idT))).toBe(0);
        const ours = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(embeddingLookup(t, ids, [2, 3]), w)))(table);
        const ref = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, idT), w)))(table);
        expect(maxDiff(ours, ref)).toBeLessThan(1e-5);
      }
    });
  });
});

describe('expNonPositive', () => {
  it('matches exp on y ≤ 0 to float precision, underflowing to 0', () => {
    const y = [0, -1e-8, -1e-3, -0.5, -1, -3, -10, -40, -87, -100, -1e4];
    const got = tf.tidy(() => expNonPositive(tf.tensor1d(y)).arraySync() as number[]);
    y.forEach((v, i) => expect(Math.abs(got[i]! - Math.exp(v))).toBeLessThanOrEqual(2e-6 * Math.exp(v) + 1e-37));
  });
});

describe('addN', () => {
  /** The input counts of every AddN kernel `fn` runs. */
  const addNInputs = async (fn: () => tf.Tensor): Promise<number[]> => {
    const info = await tf.profile(fn);
    return info.kernels.filter((k) => k.name === 'AddN').map((k) => k.inputShapes.length);
  };

  it('equals one tf.addN on wasm exactly, for 1 to 20 tensors, in AddN kernels of fewer than 8 inputs (WebGPU allows 8 storage buffers: 7 inputs and the output)', async () => {
    const xs = Array.from({ length: 20 }, () => tf.mul(randn([3, 5]), 1e3));
    for (let n = 1; n <= xs.length; n++) {
      const want = tf.tidy(() => tf.addN(xs.slice(0, n)).dataSync());
      expect(tf.tidy(() => addN(xs.slice(0, n)).dataSync())).toEqual(want);
      const inputs = await addNInputs(() => addN(xs.slice(0, n)));
      for (const count of inputs) expect(count).toBeLessThan(8);
      expect(inputs.reduce((a, b) => a + b, 0) - (inputs.length - 1)).toBe(n); // each input once, plus the running sums
    }
    tf.dispose(xs);
  });

  it('passes the gradient to every input, keeps nothing else alive and refuses an empty list', () => {
    const xs = Array.from({ length: 9 }, () => randn([4]));
    const before = tf.memory().numTensors;
    const grads = tf.grads((...ts: tf.Tensor[]) => tf.sum(tf.mul(addN(ts), tf.tensor1d([1, 2, 3, 4]))))(xs);
    for (const g of grads) expect(Array.from(g.dataSync())).toEqual([1, 2, 3, 4]);
    tf.dispose(grads);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose(xs);
    expect(() => addN([])).toThrow('addN: no tensors to add');
  });
});
