// AdamW by shards on flat buffers (the data-parallel workers' step) against optimizer.ts's AdamW
// on tensors, with clipping and weight decay, over several steps.

import * as tf from '@tensorflow/tfjs-core';
import { createRng } from '@attend/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { setupBackend } from './backend.js';
import { AdamW, clipByGlobalNorm } from './optimizer.js';
import { adamWShard, clipScale, shardGradient, shardRange, type FlatParam, type WorkerGradients } from './sharded-adamw.js';

beforeAll(async () => {
  await setupBackend();
});

// A matrix (decayed), a bias (not decayed) and a frozen matrix no worker has a gradient of.
const shapes = [[3, 5], [7], [2, 2]];
const params: FlatParam[] = [];
let length = 0;
for (const shape of shapes) {
  const size = shape.reduce((a, b) => a * b, 1);
  params.push({ offset: length, size, decay: shape.length >= 2 });
  length += size;
}

const random = (rng: ReturnType<typeof createRng>, n: number, scale: number) => Float32Array.from({ length: n }, () => (rng.next() * 2 - 1) * scale);

describe('adamWShard', () => {
  it('two shards, split inside a parameter, take the same steps as AdamW after clipByGlobalNorm', () => {
    const rng = createRng(5);
    const start = random(rng, length, 1);
    const hyper = new AdamW({ weightDecay: 0.1 });
    const reference = new AdamW({ weightDecay: 0.1 });
    const variables = params.map((p, i) => tf.variable(tf.tensor(start.slice(p.offset, p.offset + p.size), shapes[i]!), true, `w${i}`));
    const named = variables.map((variable, i) => ({ name: `p${i}`, variable }));
    const state = { weights: start.slice(), m: new Float32Array(length), v: new Float32Array(length) };
    const shards = [shardRange(length, 0, 2), shardRange(length, 1, 2)];
    expect(shards[0]![1]).toBeGreaterThan(params[0]!.offset);
    expect(shards[0]![1]).toBeLessThan(params[1]!.offset); // the first matrix is split between the shards
    const norms: [number, number][] = [];
    for (let t = 1; t <= 5; t++) {
      // Worker 1 computed no gradient of the bias this step (its share had none): only worker 0's counts.
      const g: WorkerGradients = { grads: [random(rng, length, t), random(rng, length, t)], present: [[true, true, false], [true, false, false]] };
      const lr = 0.05 / t;
      // Each shard's summed gradient, then the global norm from the shards' squares, as the workers and the main thread do.
      const sums = shards.map(([a, b]) => new Float32Array(b - a));
      const norm = Math.sqrt(shards.reduce((squares, shard, i) => squares + shardGradient(params, shard, g, sums[i]!), 0));
      shards.forEach((shard, i) => adamWShard(params, shard, state, { sum: sums[i]!, present: g.present }, { t, lr, scale: clipScale(norm, 1) }, hyper));
      tf.tidy(() => {
        const grads: Record<string, tf.Tensor> = {};
        params.forEach((p, i) => {
          const parts = g.grads.filter((_, w) => g.present[w]![i]).map((x) => tf.tensor(x.slice(p.offset, p.offset + p.size), shapes[i]!));
          if (parts.length > 0) grads[variables[i]!.name] = parts.reduce((a, b) => tf.add(a, b));
        });
        const clipped = clipByGlobalNorm(grads, 1);
        norms.push([norm, clipped.norm.dataSync()[0]!]);
        reference.apply(named, clipped.grads, lr);
      });
    }
    for (const [ours, theirs] of norms) expect(Math.abs(ours - theirs)).toBeLessThan(1e-5 * theirs);
    expect(norms.some(([n]) => n > 1)).toBe(true); // clipping took part
    params.forEach((p, i) => {
      const expected = variables[i]!.dataSync();
      const m = reference.m.get(`p${i}`)?.dataSync();
      for (let j = 0; j < p.size; j++) {
        expect(Math.abs(state.weights[p.offset + j]! - expected[j]!)).toBeLessThan(1e-6);
        if (m) expect(Math.abs(state.m[p.offset + j]! - m[j]!)).toBeLessThan(1e-6);
      }
      // The frozen matrix: untouched, no moments.
      if (i === 2) {
        expect(Array.from(state.weights.subarray(p.offset, p.offset + p.size))).toEqual(Array.from(start.subarray(p.offset, p.offset + p.size)));
        expect(m).toBeUndefined();
      }
    });
    reference.dispose();
    variables.forEach((v) => v.dispose());
  });

  it('splits the buffers into consecutive shards covering every float once', () => {
    const ranges = [0, 1, 2].map((i) => shardRange(10, i, 3));
    expect(ranges).toEqual([[0, 3], [3, 6], [6, 10]]);
  });
});
