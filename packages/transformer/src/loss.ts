// Training losses: token-level cross-entropy with label smoothing (Szegedy et al., 2016;
// used by Vaswani et al. §5.4 with ε = 0.1), averaged over valid (non-padding) positions.

import * as tf from '@tensorflow/tfjs-core';

export interface CrossEntropyOptions {
  /** ε: the target puts 1 − ε on the label and ε spread uniformly over the vocabulary. Default 0. */
  labelSmoothing?: number;
  /** 1 for positions that count, 0 for padding; [N]. Default: all count. */
  weights?: Float32Array;
}

/** Mean over counted positions of −Σ_v q_v · log softmax(logits)_v. logits [N, V], labels [N]. */
export function crossEntropy(logits: tf.Tensor2D, labels: Int32Array, options: CrossEntropyOptions = {}): tf.Scalar {
  const [N, V] = logits.shape;
  if (labels.length !== N) throw new Error(`crossEntropy: ${labels.length} labels for ${N} rows of logits`);
  const eps = options.labelSmoothing ?? 0;
  return tf.tidy(() => {
    const logp = tf.logSoftmax(logits);
    const target = tf.add(tf.mul(tf.oneHot(tf.tensor1d(labels, 'int32'), V), 1 - eps), eps / V);
    const perToken = tf.neg(tf.sum(tf.mul(target, logp), -1)); // [N]
    if (!options.weights) return tf.mean(perToken) as tf.Scalar;
    const w = tf.tensor1d(options.weights);
    return tf.div(tf.sum(tf.mul(perToken, w)), tf.maximum(tf.sum(w), 1)) as tf.Scalar;
  });
}

/** 1 for the first `lengths[b]` positions of each row of a [B, T] grid, else 0. */
export function lengthWeights(lengths: ArrayLike<number>, seqLen: number): Float32Array {
  const w = new Float32Array(lengths.length * seqLen);
  for (let b = 0; b < lengths.length; b++) w.fill(1, b * seqLen, b * seqLen + lengths[b]!);
  return w;
}
