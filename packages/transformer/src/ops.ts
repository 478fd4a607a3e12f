// Small pure tensor functions shared by the layers: layer norm, activations, linear maps,
// head split/merge, rotary embeddings. Shapes in comments: B batch, T time, H heads, D head size.

import * as tf from '@tensorflow/tfjs-core';
import { createRng, type Activation } from '@attend/core';

/**
 * (x − mean) / sqrt(var + eps) · gamma + beta over the last axis (Ba et al., 2016), on rows
 * [N, C] with a hand-written gradient: dx = rstd·(dn − mean(dn) − n·mean(dn·n)), dn = dy·gamma,
 * and the gamma/beta gradients as column sums taken by a MatMul with a row of ones (autodiff
 * would reduce over the leading axes, which the wasm backend does by transposing first).
 */
export function layerNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: number): tf.Tensor {
  return tf.tidy(() => {
    const C = x.shape[x.shape.length - 1]!;
    return tf.reshape(layerNormRows(eps)(tf.reshape(x, [-1, C]), gamma, beta), x.shape);
  });
}

const layerNormByEps = new Map<number, (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) => tf.Tensor>();
function layerNormRows(eps: number): (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) => tf.Tensor {
  let fn = layerNormByEps.get(eps);
  if (fn) return fn;
  fn = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, gamma, beta, save] = args as [tf.Tensor2D, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const xc = tf.sub(x, tf.mean(x, 1, true)); // [N, C]
    const rstd = tf.rsqrt(tf.add(tf.mean(tf.square(xc), 1, true), eps)); // [N, 1]
    const n = tf.mul(xc, rstd);
    save([n, rstd, gamma]);
    return {
      value: tf.add(tf.mul(n, gamma), beta),
      gradFunc: (dy, saved) => {
        const [sn, srstd, sgamma] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D];
        const g = dy as tf.Tensor2D;
        const dn = tf.mul(g, sgamma);
        const dx = tf.mul(srstd, tf.sub(tf.sub(dn, tf.mean(dn, 1, true)), tf.mul(sn, tf.mean(tf.mul(dn, sn), 1, true))));
        const ones = tf.ones([1, g.shape[0]]);
        const C = g.shape[1];
        return [dx, tf.reshape(tf.matMul(ones, tf.mul(g, sn)), [C]), tf.reshape(tf.matMul(ones, g), [C])];
      },
    };
  }) as (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) => tf.Tensor;
  layerNormByEps.set(eps, fn);
  return fn;
}

/**
 * Exact GELU, 0.5·x·(1 + erf(x/√2)) (Hendrycks & Gimpel, 2016), GPT-2's tanh approximation
 * (`gelu_new`), 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), swish x·σ(x) (SiLU; Marian), or ReLU.
 */
export function activate(x: tf.Tensor, activation: Activation): tf.Tensor {
  if (activation === 'relu') return tf.relu(x);
  if (activation === 'gelu_new') return geluTanh(x);
  if (activation === 'swish') return tf.mul(x, tf.sigmoid(x));
  return gelu(x);
}

/** GELU's tanh approximation (GPT-2's `gelu_new`); tfjs differentiates it. */
function geluTanh(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const inner = tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI));
    return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1));
  });
}

/** GELU with its derivative written out: Φ(x) + x·φ(x), reusing erf from the forward pass. */
const gelu: (x: tf.Tensor) => tf.Tensor = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
  const cdf2 = tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1); // 2·Φ(x)
  save([x, cdf2]);
  return {
    value: tf.mul(tf.mul(x, cdf2), 0.5),
    gradFunc: (dy, saved) => {
      const [sx, sc] = saved as [tf.Tensor, tf.Tensor];
      const pdf = expNonPositive(tf.mul(tf.square(sx), -0.5)); // √(2π)·φ(x)
      const d = tf.add(tf.mul(sc, 0.5), tf.mul(tf.mul(sx, pdf), 1 / Math.sqrt(2 * Math.PI)));
      return [tf.mul(dy as tf.Tensor, d)];
    },
  };
}) as (x: tf.Tensor) => tf.Tensor;

/**
 * exp(y) for y ≤ 0 as s / (1 − s) with s = sigmoid(y) ∈ (0, ½]: the wasm backend's Sigmoid is
 * XNNPACK's vectorised kernel (~7× faster than its scalar Exp), and 1 − s ≥ ½ loses nothing.
 */
export function expNonPositive(y: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const s = tf.sigmoid(y);
    return tf.div(s, tf.sub(1, s));
  });
}

/**
 * The most inputs one AddN kernel is given. tfjs-webgpu's AddN binds every input and its output
 * as storage buffers of one shader (concat splits its inputs, AddN does not), and WebGPU's default
 * limit is 8 per shader stage (SwiftShader's too): with 8 or more inputs the sum comes out wrong.
 */
export const ADD_N_MAX_INPUTS = 7;

/**
 * Σ tensors (same shapes), as `tf.addN` adds them — in order, each added to the running sum — but
 * in AddN kernels of at most `ADD_N_MAX_INPUTS` inputs, each after the first given the running sum
 * first: on wasm and cpu the result equals one `tf.addN`, and on WebGPU it stays right. Use it for
 * every sum of a list of tensors.
 */
export function addN<T extends tf.Tensor>(tensors: readonly T[]): T {
  if (tensors.length === 0) throw new Error('addN: no tensors to add');
  return tf.tidy(() => {
    let sum = tf.addN(tensors.slice(0, ADD_N_MAX_INPUTS) as T[]);
    for (let i = ADD_N_MAX_INPUTS; i < tensors.length; i += ADD_N_MAX_INPUTS - 1) {
      sum = tf.addN([sum, ...tensors.slice(i, i + ADD_N_MAX_INPUTS - 1)]);
    }
    return sum;
  });
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
 * MatMul gradient uses those flags. Batched products (rank > 2) go through `batchMatMul`.
 */
export const matMul: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [a, b, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
  save([a, b]);
  return {
    value: rawMatMul(a, b, false),
    gradFunc: (dy, saved) => {
      const [sa, sb] = saved as [tf.Tensor, tf.Tensor];
      const g = dy as tf.Tensor;
      return [rawMatMul(g, sb, true), rawMatMul(transposeLast(sa), g, false)];
    },
  };
}) as (a: tf.Tensor, b: tf.Tensor) => tf.Tensor;

/** a [..., m, k] · b [..., n, k]ᵀ over the last two axes, via explicit transposes (see `matMul`). */
export const matMulBT: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [a, b, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
  save([a, b]);
  return {
    value: rawMatMul(a, b, true),
    gradFunc: (dy, saved) => {
      const [sa, sb] = saved as [tf.Tensor, tf.Tensor];
      const g = dy as tf.Tensor;
      return [rawMatMul(g, sb, false), rawMatMul(transposeLast(g), sa, false)];
    },
  };
}) as (a: tf.Tensor, b: tf.Tensor) => tf.Tensor;

/** a·b, or a·bᵀ when `transposeB`; no gradient of its own (the callers' custom gradients use it). */
function rawMatMul(a: tf.Tensor, b: tf.Tensor, transposeB: boolean): tf.Tensor {
  if (a.rank > 2 && useDepthwiseBatchMatMul(a, b)) return batchMatMul(a, b, transposeB);
  return tf.matMul(a, transposeB ? transposeLast(b) : b);
}

/**
 * The wasm backend runs MatMul with batch > 1 (every per-head attention product) on a naive
 * loop at ~2–3 GFLOP/s, while its depthwise convolution goes through XNNPACK's grouped GEMM
 * at ~11. A batched product is a depthwise convolution with one channel per batch entry g:
 * input [1, m, k, G] (row i, window over k), filter [1, k, G, n] (channel multiplier n),
 * 'valid' padding → [1, m, 1, G·n] = Σ_j a[g, i, j]·b[g, j, :] (bit-identical to the naive
 * kernel on the shapes in ops.test.ts).
 */
function useDepthwiseBatchMatMul(a: tf.Tensor, b: tf.Tensor): boolean {
  if (tf.getBackend() !== 'wasm' || a.rank !== b.rank) return false;
  for (let i = 0; i < a.rank - 2; i++) if (a.shape[i] !== b.shape[i]) return false;
  return true;
}

/** a [..., m, k] · b [..., k, n] (b [..., n, k] when `transposeB`) as one depthwise convolution. */
export function batchMatMul(a: tf.Tensor, b: tf.Tensor, transposeB = false): tf.Tensor {
  return tf.tidy(() => {
    const r = a.rank;
    const lead = a.shape.slice(0, r - 2);
    const G = lead.reduce((x, y) => x * y, 1);
    const [m, k] = [a.shape[r - 2]!, a.shape[r - 1]!];
    const n = transposeB ? b.shape[r - 2]! : b.shape[r - 1]!;
    const x = tf.reshape(tf.transpose(tf.reshape(a, [G, m, k]), [1, 2, 0]), [1, m, k, G]); // [1, m, k, G]
    const f = tf.reshape(tf.transpose(tf.reshape(b, transposeB ? [G, n, k] : [G, k, n]), transposeB ? [2, 0, 1] : [1, 0, 2]), [1, k, G, n]); // [1, k, G, n]
    const y = tf.reshape(tf.depthwiseConv2d(x as tf.Tensor4D, f as tf.Tensor4D, 1, 'valid'), [m, G, n]);
    return tf.reshape(tf.transpose(y, [1, 0, 2]), [...lead, m, n]);
  });
}

/** x [..., in] · W [in, out] + b [out], computed as one 2-D MatMul. */
export function linear(x: tf.Tensor, kernel: tf.Tensor, bias?: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const inDim = x.shape[x.shape.length - 1]!;
    const outDim = kernel.shape[1]!;
    const flat = tf.reshape(x, [-1, inDim]);
    const y = bias === undefined ? matMul(flat, kernel) : affine(flat, kernel, bias);
    return tf.reshape(y, [...x.shape.slice(0, -1), outDim]);
  });
}

/**
 * x [N, in] · W [in, out] + b [out] with one custom gradient: the bias gradient is the
 * column sum of dy taken as a MatMul by a row of ones, since the wasm Sum over axis 0
 * transposes first and is ~3× slower than that GEMV ([768, 128]: 0.42 vs 0.12 ms).
 */
const affine: (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.Tensor = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, w, b, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
  save([x, w]);
  return {
    value: tf.add(tf.matMul(x, w), b),
    gradFunc: (dy, saved) => {
      const [sx, sw] = saved as [tf.Tensor, tf.Tensor];
      const g = dy as tf.Tensor; // [N, out]
      const [N, inDim] = sx.shape as [number, number];
      const outDim = g.shape[1]!;
      const dx = tf.matMul(g, tf.transpose(sw));
      // dW = xᵀ·dy, or (dyᵀ·x)ᵀ when that transposes fewer elements (e.g. fc2: in = 4·out).
      if (N * inDim <= N * outDim + inDim * outDim) {
        return [dx, tf.matMul(tf.transpose(sx), g), tf.reshape(tf.matMul(tf.ones([1, N]), g), [outDim])];
      }
      const gT = tf.transpose(g); // [out, N]
      return [dx, tf.transpose(tf.matMul(gT, sx)), tf.sum(gT, 1)];
    },
  };
}) as (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.Tensor;

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

/** Where dropout masks take their seeds while `withDropoutSeed` runs; otherwise Math.random. */
let dropoutSeeds: (() => number) | undefined;

/**
 * Runs `fn` with every dropout mask it draws (`dropout`, `dropoutSeed`) seeded from one stream
 * started at `seed`: the same masks each time it runs with that seed, whatever ran before. The
 * trainer runs each step under the step's seed, so a run with dropout repeats, and resumes, exactly.
 */
export function withDropoutSeed<T>(seed: number, fn: () => T): T {
  const previous = dropoutSeeds;
  const stream = createRng(seed);
  dropoutSeeds = () => stream.int(2 ** 31);
  try {
    return fn();
  } finally {
    dropoutSeeds = previous;
  }
}

/** The dropout seed of a training step's gradients on worker `worker` (0 on the main thread): one stream per step and worker. */
export function stepDropoutSeed(step: number, worker: number): number {
  return step * 4096 + worker;
}

/** The seed of the next dropout mask: from `withDropoutSeed`'s stream, else Math.random. */
export function dropoutSeed(): number {
  return dropoutSeeds ? dropoutSeeds() : Math.floor(Math.random() * 2 ** 31);
}

/** Dropout that is the identity outside training or at rate 0. */
export function dropout(x: tf.Tensor, rate: number, training: boolean): tf.Tensor {
  return training && rate > 0 ? tf.dropout(x, rate, undefined, dropoutSeed()) : x;
}

/** Vocabularies up to this size embed by a one-hot MatMul instead of Gather (see `embeddingLookup`). */
export const ONE_HOT_EMBEDDING_MAX_VOCAB = 256;

/**
 * table[ids] → [...idsShape, d]. For small vocabularies (character-level) this is one-hot · table
 * as a 2-D MatMul, whose gradient is one-hotᵀ · dy, another MatMul, with both one-hot matrices
 * built on the host: no Gather (slow on wasm) and no scatter-add (UnsortedSegmentSum) in the
 * backward pass. Exact: each output row is 1·table[id] plus zeros.
 */
export function embeddingLookup(table: tf.Tensor, ids: Int32Array, idsShape: number[]): tf.Tensor {
  const [V, d] = table.shape as [number, number];
  if (V > ONE_HOT_EMBEDDING_MAX_VOCAB) return tf.tidy(() => tf.gather(table, tf.tensor(ids, idsShape, 'int32')));
  const N = ids.length;
  const hot = new Float32Array(N * V);
  const hotT = new Float32Array(V * N);
  for (let i = 0; i < N; i++) {
    hot[i * V + ids[i]!] = 1;
    hotT[ids[i]! * N + i] = 1;
  }
  return tf.tidy(() => {
    const oneHot = tf.tensor2d(hot, [N, V]);
    const oneHotT = tf.tensor2d(hotT, [V, N]);
    const lookup = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const [t, save] = args as [tf.Tensor, tf.GradSaveFunc];
      save([oneHotT]); // saved tensors outlive this tidy
      return { value: tf.matMul(oneHot, t), gradFunc: (dy, saved) => [tf.matMul(saved[0]!, dy as tf.Tensor)] };
    }) as (t: tf.Tensor) => tf.Tensor;
    return tf.reshape(lookup(table), [...idsShape, d]);
  });
}

