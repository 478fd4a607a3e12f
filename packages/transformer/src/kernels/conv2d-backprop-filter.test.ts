// The wasm Conv2DBackpropFilter kernel (through the backend's 3-D kernel at depth 1): the
// filter gradient of conv2d equals the cpu backend's for 'same' and 'valid' padding, one and
// several channels and odd and even kernels; strides above 1 (where the backend's 3-D kernel is
// wrong) and explicit paddings are refused in one line.

import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { createRng } from '@attend/core';
import { setupBackend } from '../backend.js';
import { conv2dBackpropFilterWasmConfig } from './conv2d-backprop-filter.js';

beforeAll(async () => {
  expect((await setupBackend(['wasm'])).name).toBe('wasm');
});

const random = (n: number, seed: number): Float32Array => {
  const rng = createRng(seed);
  return Float32Array.from({ length: n }, () => rng.normal());
};

/** Gradients of Σ w·conv2d(x, f) with respect to x and f on the named backend. */
async function grads(backend: 'cpu' | 'wasm', xShape: [number, number, number, number], fShape: [number, number, number, number], stride: number, pad: 'same' | 'valid'): Promise<{ dx: number[]; df: number[]; y: number[] }> {
  await setupBackend([backend]);
  try {
    return tf.tidy(() => {
      const x = tf.tensor4d(random(xShape.reduce((a, b) => a * b), 1), xShape);
      const f = tf.tensor4d(random(fShape.reduce((a, b) => a * b), 2), fShape);
      const y = tf.conv2d(x, f, stride, pad);
      const w = tf.tensor(random(y.size, 3), y.shape);
      const [dx, df] = tf.grads((a, b) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, pad), w)))([x, f]);
      return { dx: Array.from(dx!.dataSync()), df: Array.from(df!.dataSync()), y: Array.from(y.dataSync()) };
    });
  } finally {
    await setupBackend(['wasm']);
  }
}

describe('Conv2DBackpropFilter on wasm', () => {
  it('is registered for wasm by setupBackend', () => {
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')?.kernelFunc).toBe(conv2dBackpropFilterWasmConfig.kernelFunc);
  });

  it.each([
    { x: [2, 9, 9, 1], f: [3, 3, 1, 4], stride: 1, pad: 'same' },
    { x: [2, 9, 9, 1], f: [3, 3, 1, 4], stride: 1, pad: 'valid' },
    { x: [3, 10, 8, 3], f: [5, 5, 3, 2], stride: 1, pad: 'same' },
    { x: [1, 11, 11, 4], f: [4, 4, 4, 6], stride: 1, pad: 'valid' },
  ] as const)('equals the cpu backend: x $x, filter $f, stride $stride, $pad', async ({ x, f, stride, pad }) => {
    const cpu = await grads('cpu', [...x], [...f], stride, pad);
    const wasm = await grads('wasm', [...x], [...f], stride, pad);
    expect(wasm.df).toHaveLength(f.reduce((a: number, b: number) => a * b, 1));
    const scale = Math.max(...cpu.df.map(Math.abs));
    expect(scale).toBeGreaterThan(0.1);
    for (let i = 0; i < cpu.df.length; i++) expect(Math.abs(wasm.df[i]! - cpu.df[i]!), `df[${i}]`).toBeLessThan(1e-4 * scale);
    for (let i = 0; i < cpu.dx.length; i++) expect(Math.abs(wasm.dx[i]! - cpu.dx[i]!), `dx[${i}]`).toBeLessThan(1e-4);
  });

  it('refuses a stride above 1 in one line', () => {
    expect(() =>
      tf.tidy(() => {
        const x = tf.ones([1, 6, 6, 1]) as tf.Tensor4D;
        return tf.grad((f) => tf.sum(tf.conv2d(x, f as tf.Tensor4D, 2, 'same')))(tf.ones([3, 3, 1, 1]) as tf.Tensor4D);
      }),
    ).toThrow(/Conv2DBackpropFilter \(wasm\): stride 2×2 is not supported/);
  });

  it('refuses an explicit padding in one line', () => {
    expect(() =>
      tf.tidy(() => {
        const x = tf.ones([1, 4, 4, 1]) as tf.Tensor4D;
        return tf.grad((f) => tf.sum(tf.conv2d(x, f as tf.Tensor4D, 1, 1)))(tf.ones([2, 2, 1, 1]) as tf.Tensor4D);
      }),
    ).toThrow(/Conv2DBackpropFilter \(wasm\): padding 1 is not supported/);
  });
});
