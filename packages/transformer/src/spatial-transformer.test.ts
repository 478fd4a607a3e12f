// The spatial transformer's sampler against its definition (identity and shifts), central
// finite differences (gradients in the image and θ), and PyTorch's affine_grid / grid_sample
// (align_corners=False, zero padding) when Debian's python3-torch is installed.

import { spawnSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs-core';
import { createRng } from '@attend/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { setupBackend } from './backend.js';
import { affineGrid, glimpse, gridSample } from './spatial-transformer.js';

const PYTHON = '/usr/bin/python3';
const hasTorch = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;

const values = (shape: number[], seed: number): number[] => {
  const rng = createRng(seed);
  return Array.from({ length: shape.reduce((a, b) => a * b) }, () => rng.next());
};

/** Samples `image` [B, C, H, W] with `theta` [B, 2, 3] onto an Ho × Wo grid. */
function transform(image: number[], imageShape: [number, number, number, number], theta: number[], Ho: number, Wo: number): tf.Tensor4D {
  return tf.tidy(() => gridSample(tf.tensor4d(image, imageShape), affineGrid(tf.tensor3d(theta, [imageShape[0], 2, 3]), Ho, Wo)));
}

beforeAll(async () => {
  await setupBackend();
});

describe('affineGrid + gridSample', () => {
  it('reproduce the image under the identity map, and shift it by whole pixels under a translation', () => {
    const image = values([1, 2, 4, 5], 1);
    const same = transform(image, [1, 2, 4, 5], [1, 0, 0, 0, 1, 0], 4, 5);
    expect(Array.from(same.dataSync()).map((v, i) => Math.abs(v - image[i]!)).every((d) => d < 1e-6)).toBe(true);
    // x + 2/W in normalised units is one pixel to the right: out[.., j] = in[.., j + 1], 0 past the edge.
    const shifted = transform(image, [1, 2, 4, 5], [1, 0, 2 / 5, 0, 1, 0], 4, 5).arraySync()[0]!;
    for (let c = 0; c < 2; c++) {
      for (let i = 0; i < 4; i++) {
        for (let j = 0; j < 5; j++) expect(shifted[c]![i]![j]!).toBeCloseTo(j < 4 ? image[(c * 4 + i) * 5 + j + 1]! : 0, 5);
      }
    }
    tf.dispose([same]);
  });

  it('has the gradients of central finite differences, in the image and in θ', () => {
    const shape: [number, number, number, number] = [2, 1, 5, 6];
    const image = values(shape, 2);
    // Zoom in, rotate a little and shift, so sample points fall between pixels and some outside.
    const theta = [0.7, 0.2, 0.1, -0.15, 0.8, -0.05, 1.1, -0.3, 0.2, 0.25, 0.9, 0.15];
    const probe = tf.tensor4d(values([2, 1, 4, 4], 3), [2, 1, 4, 4]);
    const loss = (img: tf.Tensor, th: tf.Tensor): tf.Scalar => tf.sum(tf.mul(gridSample(img as tf.Tensor4D, affineGrid(th as tf.Tensor3D, 4, 4)), probe)) as tf.Scalar;
    const [dImage, dTheta] = tf.grads(loss)([tf.tensor4d(image, shape), tf.tensor3d(theta, [2, 2, 3])]).map((g) => Array.from(g!.dataSync()));
    const at = (img: number[], th: number[]): number => tf.tidy(() => loss(tf.tensor4d(img, shape), tf.tensor3d(th, [2, 2, 3])).dataSync()[0]!);
    const eps = 1e-2;
    for (const k of [0, 7, 13, 29, 40, 59]) {
      const up = [...image];
      const down = [...image];
      up[k]! += eps;
      down[k]! -= eps;
      expect(dImage![k]!).toBeCloseTo((at(up, theta) - at(down, theta)) / (2 * eps), 2);
    }
    const eps2 = 1e-3;
    for (let k = 0; k < theta.length; k++) {
      const up = [...theta];
      const down = [...theta];
      up[k]! += eps2;
      down[k]! -= eps2;
      const fd = (at(image, up) - at(image, down)) / (2 * eps2);
      expect(Math.abs(dTheta![k]! - fd)).toBeLessThan(0.02 * Math.max(1, Math.abs(fd)));
    }
    probe.dispose();
  });

  it.skipIf(!hasTorch)('match PyTorch affine_grid / grid_sample (align_corners=False, zeros)', () => {
    const shape: [number, number, number, number] = [2, 3, 7, 5];
    const image = values(shape, 4);
    const theta = [0.6, -0.3, 0.2, 0.4, 0.9, -0.1, -1.2, 0.1, 0.05, 0.2, 1.3, 0.3];
    const script = [
      'import json, sys, torch',
      'import torch.nn.functional as F',
      'a = json.load(sys.stdin)',
      'x = torch.tensor(a["image"], dtype=torch.float32).reshape(2, 3, 7, 5)',
      't = torch.tensor(a["theta"], dtype=torch.float32).reshape(2, 2, 3)',
      'g = F.affine_grid(t, [2, 3, 6, 4], align_corners=False)',
      'print(json.dumps(F.grid_sample(x, g, mode="bilinear", padding_mode="zeros", align_corners=False).flatten().tolist()))',
    ].join('\n');
    const run = spawnSync(PYTHON, ['-c', script], { input: JSON.stringify({ image, theta }), encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    const expected = JSON.parse(run.stdout) as number[];
    const got = Array.from(transform(image, shape, theta, 6, 4).dataSync());
    expect(got).toHaveLength(expected.length);
    expect(Math.max(...got.map((v, i) => Math.abs(v - expected[i]!)))).toBeLessThan(1e-5);
  });

  it('glimpse: the finest patch is the pixels around the location, each coarser one their 2 × 2 averages', () => {
    const [H, W] = [8, 8];
    const image = values([1, 1, H, W], 6);
    const px = (x: number, y: number): number => image[y * W + x]!;
    // Centre on the corner shared by pixels (3, 3) and (4, 4): x = y = 4 px from the left = 0 in [−1, 1].
    const g = tf.tidy(() => glimpse(tf.tensor4d(image, [1, 1, H, W]), tf.tensor2d([[0, 0]]), 2, 3)).arraySync()[0]!;
    expect(g).toHaveLength(3);
    // Scale 0: the 2 × 2 pixels around the centre, exactly.
    expect(g[0]).toEqual([[px(3, 3), px(4, 3)], [px(3, 4), px(4, 4)]].map((r) => r.map((v) => expect.closeTo(v, 5))));
    // Scale 1: 4 × 4 pixels read at 2 × 2, each the mean of its 2 × 2 block (bilinear between pixel centres).
    const mean = (x: number, y: number): number => (px(x, y) + px(x + 1, y) + px(x, y + 1) + px(x + 1, y + 1)) / 4;
    expect(g[1]).toEqual([[mean(2, 2), mean(4, 2)], [mean(2, 4), mean(4, 4)]].map((r) => r.map((v) => expect.closeTo(v, 5))));
    // Scale 2: all 8 × 8 pixels read at 2 × 2: samples at 1.5 and 5.5 px, again 2 × 2 means.
    expect(g[2]).toEqual([[mean(1, 1), mean(5, 1)], [mean(1, 5), mean(5, 5)]].map((r) => r.map((v) => expect.closeTo(v, 5))));
  });
});
