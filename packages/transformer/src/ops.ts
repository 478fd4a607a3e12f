// Small pure tensor functions shared by the layers: layer norm, activations, linear maps,
// head split/merge, rotary embeddings. Shapes in comments: B batch, T time, H heads, D head size.

import * as tf from '@tensorflow/tfjs-core';
import type { Activation } from '@attend/core';

/** (x − mean) / sqrt(var + eps) · gamma + beta over the last axis (Ba et al., 2016). */
export function layerNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: number): tf.Tensor {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, -1, true);
    const normed = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps)));
    return tf.add(tf.mul(normed, gamma), beta);
  });
}

/** Exact GELU, 0.5·x·(1 + erf(x/√2)) (Hendrycks & Gimpel, 2016), or ReLU. */
export function activate(x: tf.Tensor, activation: Activation): tf.Tensor {
  if (activation === 'relu') return tf.relu(x);
  return tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1)));
}

/** Swaps the last two axes. */
export function transposeLast(x: tf.Tensor): tf.Tensor {
  const r = x.rank;
  return tf.transpose(x, [...Array.from({ length: r - 2 }, (_, i) => i), r - 1, r - 2]);
}

/**
 * a [..., m, k] · b [..., k, n] (same leading dims), with a gradient that transposes
 * explicitly. The wasm backend's MatMul with transposeA/transposeB set takes a path ~7× slower
 * than a plain MatMul after an explicit Transpose (measured on 2304×64·64×64), and tfjs's own
 * MatMul gradient uses those flags.
 */
export const matMul: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [a, b, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
  save([a, b]);
  return {
    value: tf.matMul(a, b),
    gradFunc: (dy, saved) => {
      const [sa, sb] = saved as [tf.Tensor, tf.Tensor];
      const g = dy as tf.Tensor;
      return [tf.matMul(g, transposeLast(sb)), tf.matMul(transposeLast(sa), g)];
    },
  };
}) as (a: tf.Tensor, b: tf.Tensor) => tf.Tensor;

/** a · bᵀ over the last two axes, via an explicit transpose (see `matMul`). */
export function matMulBT(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  return tf.tidy(() => matMul(a, transposeLast(b)));
}

/** x [..., in] · W [in, out] + b [out], computed as one 2-D MatMul. */
export function linear(x: tf.Tensor, kernel: tf.Tensor, bias?: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const inDim = x.shape[x.shape.length - 1]!;
    const outDim = kernel.shape[1]!;
    const flat = tf.reshape(x, [-1, inDim]);
    const y = matMul(flat, kernel);
    const withBias = bias === undefined ? y : tf.add(y, bias);
    return tf.reshape(withBias, [...x.shape.slice(0, -1), outDim]);
  });
}

/** [B, T, H·D] → [B, H, T, D] */
export function splitHeads(x: tf.Tensor, numHeads: number): tf.Tensor4D {
  const [B, T, C] = x.shape as [number, number, number];
  return tf.tidy(() => tf.transpose(tf.reshape(x, [B, T, numHeads, C / numHeads]), [0, 2, 1, 3]) as tf.Tensor4D);
}

/** [B, H, T, D] → [B, T, H·D] */
export function mergeHeads(x: tf.Tensor4D): tf.Tensor3D {
  const [B, H, T, D] = x.shape;
  return tf.tidy(() => tf.reshape(tf.transpose(x, [0, 2, 1, 3]), [B, T, H * D]) as tf.Tensor3D);
}

/** Rotary embedding: x·cos + rotateHalf(x)·sin, x [B, H, T, D], cos/sin [T, D]. */
export function applyRotary(x: tf.Tensor4D, cos: tf.Tensor2D, sin: tf.Tensor2D): tf.Tensor4D {
  return tf.tidy(() => {
    const half = x.shape[3] / 2;
    const [x1, x2] = tf.split(x, [half, half], 3);
    const rotated = tf.concat([tf.neg(x2!), x1!], 3);
    return tf.add(tf.mul(x, cos), tf.mul(rotated, sin)) as tf.Tensor4D;
  });
}

/** Dropout that is the identity outside training or at rate 0. */
export function dropout(x: tf.Tensor, rate: number, training: boolean): tf.Tensor {
  return training && rate > 0 ? tf.dropout(x, rate) : x;
}
