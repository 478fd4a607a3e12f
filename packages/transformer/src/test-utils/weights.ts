// Test helpers that put non-trivial random values into a layer's or model's parameters, so
// that scores are far from zero and attention is far from uniform (the initial weights are
// tiny: N(0, 0.02) projections give near-uniform attention, which hides mistakes).

import * as tf from '@tensorflow/tfjs-core';
import { createRng } from '@attend/core';
import type { NamedParam } from '../params.js';

/**
 * Overwrites every parameter with N(0, scale²) values; layer-norm gains get 1 + N(0, scale²),
 * cosine log-temperatures log(4) + N(0, scale²) so that cosine scores span a useful range.
 */
export function randomizeParams(params: readonly NamedParam[], seed: number, scale = 0.3): void {
  const rng = createRng(seed);
  for (const { name, variable } of params) {
    const offset = /layer_norm\.weight$/.test(name) ? 1 : /logit_scale$/.test(name) ? Math.log(4) : 0;
    const values = Float32Array.from({ length: variable.size }, () => offset + scale * rng.normal());
    tf.tidy(() => variable.assign(tf.tensor(values, variable.shape, 'float32')));
  }
}

/** Largest |a − b| over two equally long arrays. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`maxAbsDiff: lengths ${a.length} and ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Flattens nested number arrays (any depth) row-major. */
export function flat(x: unknown): number[] {
  return Array.isArray(x) ? x.flatMap(flat) : [x as number];
}
