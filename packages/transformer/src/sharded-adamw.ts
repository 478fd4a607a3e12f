// AdamW on flat Float32Arrays, one shard of the parameters at a time: the data-parallel workers
// (data-parallel-worker.ts) each update their own range of the shared weights and moments, so the
// optimizer step runs on every core and no weights are copied back to the main thread each step.
// The update is optimizer.ts's AdamW (after clipByGlobalNorm), computed in doubles and stored as
// floats: equal to it within float rounding (sharded-adamw.test.ts).

import type { AdamW } from './optimizer.js';

/** Where one parameter lies in the flat buffers (floats). */
export interface FlatParam {
  offset: number;
  size: number;
  /** Whether weight decay applies (AdamW decays weights of rank ≥ 2 only). */
  decay: boolean;
}

/** Each worker's gradients of every parameter (flat buffers) and which of them it computed. */
export interface WorkerGradients {
  grads: Float32Array[];
  /** present[w][p]: worker w wrote a gradient of parameter p this step. */
  present: boolean[][];
}

/** AdamW's hyperparameters (an `AdamW`'s fields). */
export type AdamWHyper = Pick<AdamW, 'beta1' | 'beta2' | 'epsilon' | 'weightDecay'>;

/** The float range [start, end) of the flat buffers that worker `index` of `count` updates. */
export function shardRange(length: number, index: number, count: number): [number, number] {
  return [Math.floor((index * length) / count), Math.floor(((index + 1) * length) / count)];
}

/**
 * The summed gradient of the floats [start, end) into `out` (from its start): each worker's
 * gradient of a parameter added in worker order, each sum rounded to a float as tf.add's is
 * (floats of parameters without a gradient are left as they were). Returns the sum of their
 * squares: the shards' sums, added in worker order, are the square of clipByGlobalNorm's norm.
 */
export function shardGradient(params: readonly FlatParam[], [start, end]: [number, number], g: WorkerGradients, out: Float32Array): number {
  let squares = 0;
  // Plain loops, not forEach callbacks: a callback is a new closure each call, and V8 compiled
  // (and on-stack replaced) each one's loop afresh every step (node --trace-opt).
  for (let p = 0; p < params.length; p++) {
    const [from, to] = overlap(params[p]!, start, end);
    if (from >= to) continue;
    let first = true;
    for (let w = 0; w < g.grads.length; w++) {
      if (!g.present[w]![p]) continue;
      const grads = g.grads[w]!;
      if (first) out.set(grads.subarray(from, to), from - start);
      else for (let i = from; i < to; i++) out[i - start] = out[i - start]! + grads[i]!;
      first = false;
    }
    if (first) continue;
    for (let i = from - start; i < to - start; i++) squares += out[i]! * out[i]!;
  }
  return squares;
}

/** The floats [from, to) of `param` within [start, end) (empty: from >= to). */
function overlap(param: FlatParam, start: number, end: number): [number, number] {
  return [Math.max(start, param.offset), Math.min(end, param.offset + param.size)];
}

/** Whether any worker computed a gradient of parameter `p` (AdamW leaves the others untouched). */
export function hasGradient(g: Pick<WorkerGradients, 'present'>, p: number): boolean {
  return g.present.some((row) => row[p]);
}

/**
 * One AdamW step (optimizer step `t`, learning rate `lr`) of the floats [start, end) of `weights`
 * and the moments `m` and `v`, with the shard's summed gradient (`shardGradient`'s `out`) times
 * `scale` (the clipping factor); parameters no worker had a gradient of are left as they are.
 */
export function adamWShard(
  params: readonly FlatParam[],
  [start, end]: [number, number],
  state: { weights: Float32Array; m: Float32Array; v: Float32Array },
  grad: { sum: Float32Array; present: boolean[][] },
  step: { t: number; lr: number; scale: number },
  hyper: AdamWHyper,
): void {
  const { beta1, beta2, epsilon, weightDecay } = hyper;
  const c1 = 1 - Math.pow(beta1, step.t);
  const c2 = 1 - Math.pow(beta2, step.t);
  const { weights, m, v } = state;
  const { sum } = grad;
  const { lr, scale } = step;
  for (let p = 0; p < params.length; p++) {
    const [from, to] = overlap(params[p]!, start, end);
    if (from >= to || !hasGradient(grad, p)) continue;
    const decay = weightDecay > 0 && params[p]!.decay ? weightDecay : 0;
    for (let i = from; i < to; i++) {
      const g = Math.fround(sum[i - start]! * scale);
      m[i] = beta1 * m[i]! + (1 - beta1) * g;
      v[i] = beta2 * v[i]! + (1 - beta2) * g * g;
      const update = m[i]! / c1 / (Math.sqrt(v[i]! / c2) + epsilon) + decay * weights[i]!;
      weights[i] = weights[i]! - lr * update;
    }
  }
}

/** clipByGlobalNorm's factor: the gradients are scaled so their norm is at most `maxNorm` (null: not clipped). */
export function clipScale(norm: number, maxNorm: number | null): number {
  return maxNorm === null ? 1 : Math.min(maxNorm / (norm + 1e-6), 1);
}
