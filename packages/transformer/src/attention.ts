// Multi-head attention with the score functions the toolkit grew from: scaled dot product
// (Vaswani et al., 2017, §3.2.1), dot and general (Luong et al., 2015, §3.1), additive
// (Bahdanau et al., 2015, eq. 6 — v·tanh(W₁q + W₂k)), and cosine similarity with a learned
// per-head temperature (as in Graves et al.'s content addressing and Swin v2).
// `attention(...)` is the math as a free function; `MultiHeadAttention` owns the weights.

import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { createRng, type ScoreFunction } from '@attend/core';
import { applyRotary, dropout, dropoutSeed, linear, matMul, matMulBT, mergeHeads, splitHeads, transposeLast } from './ops.js';
import { linearInit, ParamStore, type InitScheme, type NamedParam } from './params.js';

/** Per-head parameters of the score functions that have them. */
export interface ScoreParams {
  /** general: score = (q·W_h)·k, W [H, D, D]. */
  general?: tf.Tensor3D;
  /** additive: score = v_h · tanh(q·Wq_h + k·Wk_h); Wq/Wk [H, D, D], v [H, D]. */
  additiveQuery?: tf.Tensor3D;
  additiveKey?: tf.Tensor3D;
  additiveV?: tf.Tensor2D;
  /** cosine: score = exp(logitScale_h) · cos(q, k), logitScale [H]. */
  cosineLogitScale?: tf.Tensor1D;
}

/** Small constant that keeps cosine similarity finite for zero vectors. */
export const COSINE_EPS = 1e-6;

/** Raw attention scores [B, H, Tq, Tk] for q [B, H, Tq, D] and k [B, H, Tk, D]. */
export function attentionScores(q: tf.Tensor4D, k: tf.Tensor4D, score: ScoreFunction, params: ScoreParams = {}): tf.Tensor4D {
  return tf.tidy(() => {
    const D = q.shape[3];
    // Per-head weights [H, D, D] are broadcast over the batch explicitly: BroadcastTo's gradient
    // sums over the batch axis, which MatMul's own batch broadcasting does not do in tfjs.
    const perHead = (w: tf.Tensor3D): tf.Tensor4D => tf.broadcastTo(w, [q.shape[0], ...w.shape]) as tf.Tensor4D;
    switch (score) {
      case 'scaled_dot':
        return matMulBT(tf.mul(q, 1 / Math.sqrt(D)), k) as tf.Tensor4D;
      case 'dot':
        return matMulBT(q, k) as tf.Tensor4D;
      case 'general':
        return matMulBT(matMul(q, perHead(required(params.general, 'general'))), k) as tf.Tensor4D;
      case 'additive': {
        const qa = matMul(q, perHead(required(params.additiveQuery, 'additiveQuery'))); // [B, H, Tq, D]
        const ka = matMul(k, perHead(required(params.additiveKey, 'additiveKey'))); // [B, H, Tk, D]
        const hidden = tf.tanh(tf.add(tf.expandDims(qa, 3), tf.expandDims(ka, 2))); // [B, H, Tq, Tk, D]
        const v = required(params.additiveV, 'additiveV');
        const [H, Dv] = v.shape;
        return tf.sum(tf.mul(hidden, tf.reshape(v, [1, H, 1, 1, Dv])), -1) as tf.Tensor4D;
      }
      case 'cosine': {
        const qn = tf.div(q, tf.add(tf.norm(q, 'euclidean', -1, true), COSINE_EPS));
        const kn = tf.div(k, tf.add(tf.norm(k, 'euclidean', -1, true), COSINE_EPS));
        const scale = tf.exp(required(params.cosineLogitScale, 'cosineLogitScale'));
        return tf.mul(matMulBT(qn, kn), tf.reshape(scale, [1, -1, 1, 1])) as tf.Tensor4D;
      }
    }
  });
}

export interface AttentionOptions {
  score: ScoreFunction;
  params?: ScoreParams;
  /** Additive bias broadcastable to [B, H, Tq, Tk]: masks (0 / MASKED_SCORE) and ALiBi. */
  bias?: tf.Tensor;
  dropoutRate?: number;
  training?: boolean;
  /**
   * Whether the caller needs the weights (default true). In training without them, every score
   * function but additive runs `leanAttention` (no [B, H, Tq, Tk] tensor kept for the gradient)
   * once the weights would take LEAN_ATTENTION_MIN_BYTES; `lean` true or false decides instead.
   */
  returnWeights?: boolean;
  lean?: boolean;
}

/**
 * From this size of one attention's weights [B, H, Tq, Tk] (float32) up, training recomputes
 * them in the backward pass rather than keeping them; below it, keeping them is cheap and the
 * recomputation (one more q·kᵀ and softmax) is not.
 */
export const LEAN_ATTENTION_MIN_BYTES = 2 ** 20;

function useLean(q: tf.Tensor4D, k: tf.Tensor4D, options: AttentionOptions): boolean {
  if (!options.training || options.returnWeights !== false) return false;
  return options.lean ?? q.shape[0] * q.shape[1] * q.shape[2] * k.shape[2] * 4 >= LEAN_ATTENTION_MIN_BYTES;
}

/** softmax(score(q, k) + bias) · v → { output [B, H, Tq, D], weights [B, H, Tq, Tk] (unless lean) }. */
export function attention(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, options: AttentionOptions): { output: tf.Tensor4D; weights?: tf.Tensor4D } {
  return tf.tidy(() => {
    const dot = useLean(q, k, options) ? dotProductForm(q, k, options.score, options.params) : undefined;
    if (dot) return { output: leanAttention(dot.q, dot.k, v, options.bias, options.dropoutRate ?? 0) };
    let scores: tf.Tensor = attentionScores(q, k, options.score, options.params);
    if (options.bias) scores = tf.add(scores, options.bias);
    const weights = tf.softmax(scores) as tf.Tensor4D;
    const dropped = dropout(weights, options.dropoutRate ?? 0, options.training ?? false);
    return { output: matMul(dropped, v) as tf.Tensor4D, weights };
  });
}

/**
 * The score as a plain dot product q′·k′ᵀ — scaled_dot q/√D·kᵀ, dot, general (q·W_h)·kᵀ, cosine
 * (exp(s_h)·q̂)·k̂ᵀ — or undefined for additive, which has no such form.
 */
function dotProductForm(q: tf.Tensor4D, k: tf.Tensor4D, score: ScoreFunction, params: ScoreParams = {}): { q: tf.Tensor4D; k: tf.Tensor4D } | undefined {
  switch (score) {
    case 'scaled_dot':
      return { q: tf.mul(q, 1 / Math.sqrt(q.shape[3])), k };
    case 'dot':
      return { q, k };
    case 'general': {
      const w = required(params.general, 'general');
      return { q: matMul(q, tf.broadcastTo(w, [q.shape[0], ...w.shape])) as tf.Tensor4D, k };
    }
    case 'cosine': {
      const scale = tf.reshape(tf.exp(required(params.cosineLogitScale, 'cosineLogitScale')), [1, -1, 1, 1]);
      const qn = tf.div(q, tf.add(tf.norm(q, 'euclidean', -1, true), COSINE_EPS));
      return { q: tf.mul(qn, scale), k: tf.div(k, tf.add(tf.norm(k, 'euclidean', -1, true), COSINE_EPS)) as tf.Tensor4D };
    }
    case 'additive':
      return undefined;
  }
}

/** The inverted-dropout keep mask (0 or 1/(1 − rate)) of a seed: the same mask each time it is drawn. */
function keepMask(shape: number[], rate: number, seed: number): tf.Tensor {
  return tf.div(tf.cast(tf.greaterEqual(tf.randomUniform(shape, 0, 1, 'float32', seed), rate), 'float32'), 1 - rate);
}

/**
 * softmax(q·kᵀ + bias) · v (dropout on the weights in training) with a gradient that keeps only
 * q, k, v and the bias, and recomputes the weights when it runs: the [B, H, Tq, Tk] weights
 * (and dropout mask) of every layer are not held from the forward pass to the backward one, as
 * autodiff holds them. With P the weights, M the mask and dO the output's gradient:
 * dV = (P∘M)ᵀ·dO, dP = (dO·vᵀ)∘M, dS = P∘(dP − rowsum(dP∘P)), dq = dS·k, dk = dSᵀ·q.
 * The mask is drawn from a seed, so the backward pass draws the forward pass's mask again.
 */
export function leanAttention(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, bias: tf.Tensor | undefined, dropoutRate = 0): tf.Tensor4D {
  const seed = dropoutRate > 0 ? dropoutSeed() : 0;
  const weights = (sq: tf.Tensor, sk: tf.Tensor, sb: tf.Tensor | undefined): tf.Tensor => {
    const scores = matMulBT(sq, sk);
    return tf.softmax(sb ? tf.add(scores, sb) : scores);
  };
  const dropped = (p: tf.Tensor): { kept: tf.Tensor; mask?: tf.Tensor } => {
    if (dropoutRate <= 0) return { kept: p };
    const mask = keepMask(p.shape, dropoutRate, seed);
    return { kept: tf.mul(p, mask), mask };
  };
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const inputs = args.slice(0, -1) as tf.Tensor[];
    const save = args[args.length - 1] as tf.GradSaveFunc;
    save(inputs);
    const [sq, sk, sv, sb] = inputs as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor | undefined];
    return {
      value: matMul(dropped(weights(sq, sk, sb)).kept, sv),
      // Its own tidy: tfjs keeps a backward pass's temporaries until the whole pass ends.
      gradFunc: (dy, saved) => tf.tidy(() => {
        const [q2, k2, v2, b2] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor | undefined];
        const dO = dy as tf.Tensor;
        const p = weights(q2, k2, b2);
        const { kept, mask } = dropped(p);
        const dV = matMul(transposeLast(kept), dO);
        const dKept = matMulBT(dO, v2);
        const dP = mask ? tf.mul(dKept, mask) : dKept;
        const dS = tf.mul(p, tf.sub(dP, tf.sum(tf.mul(dP, p), -1, true)));
        const grads = [matMul(dS, k2), matMul(transposeLast(dS), q2), dV];
        return b2 ? [...grads, tf.zerosLike(b2)] : grads;
      }),
    };
  }) as (...inputs: tf.Tensor[]) => tf.Tensor;
  return (bias ? op(q, k, v, bias) : op(q, k, v)) as tf.Tensor4D;
}

/** The weights a score function uses, looked up by their names under `score.` (see MultiHeadAttention). */
export function scoreParamsOf(score: ScoreFunction | undefined, get: (name: string) => tf.Tensor): ScoreParams {
  switch (score) {
    case 'general':
      return { general: get('score.weight') as tf.Tensor3D };
    case 'additive':
      return {
        additiveQuery: get('score.query.weight') as tf.Tensor3D,
        additiveKey: get('score.key.weight') as tf.Tensor3D,
        additiveV: get('score.v') as tf.Tensor2D,
      };
    case 'cosine':
      return { cosineLogitScale: get('score.logit_scale') as tf.Tensor1D };
    default:
      return {};
  }
}

export interface MultiHeadAttentionArgs {
  dModel: number;
  numHeads: number;
  /** Score function; default 'scaled_dot'. */
  score?: ScoreFunction;
  /** Dropout on the attention weights; default 0. */
  dropout?: number;
  /** Initialisation of the projections; default 'glorot'. */
  init?: InitScheme;
  /** Extra scale of out_proj's initial weights (a residual projection); default 1. */
  residualScale?: number;
  /** Seed for the weight initialisation; default 0. */
  seed?: number;
  name?: string;
}

export interface AttentionCallOptions {
  bias?: tf.Tensor;
  /** Rotary tables for the query and key positions (self-attention only). */
  rotary?: { cos: tf.Tensor2D; sin: tf.Tensor2D };
  training?: boolean;
  /** Whether the weights are wanted (default true); see AttentionOptions.returnWeights. */
  returnWeights?: boolean;
}

/**
 * Multi-head attention: q/k/v projections, per-head scores, output projection.
 * Weight names follow Hugging Face BART: q_proj, k_proj, v_proj, out_proj (+ score.* for the
 * score functions with parameters).
 */
export class MultiHeadAttention extends tfl.layers.Layer {
  static className = 'AttendMultiHeadAttention';
  readonly dModel: number;
  readonly numHeads: number;
  readonly score: ScoreFunction;
  readonly dropoutRate: number;
  readonly init: InitScheme;
  readonly residualScale: number;
  readonly seed: number;
  private readonly params = new ParamStore();

  constructor(args: MultiHeadAttentionArgs) {
    super({ name: args.name, trainable: true });
    if (args.dModel % args.numHeads !== 0) {
      throw new Error(`MultiHeadAttention: dModel ${args.dModel} is not divisible by numHeads ${args.numHeads}`);
    }
    this.dModel = args.dModel;
    this.numHeads = args.numHeads;
    this.score = args.score ?? 'scaled_dot';
    this.dropoutRate = args.dropout ?? 0;
    this.init = args.init ?? 'glorot';
    this.residualScale = args.residualScale ?? 1;
    this.seed = args.seed ?? 0;
  }

  override build(): void {
    if (this.built) return;
    const d = this.dModel;
    const H = this.numHeads;
    const D = d / H;
    const rng = createRng(this.seed);
    const add = (name: string, shape: number[], init: Parameters<ParamStore['add']>[3], linear = false): void => {
      this.params.add(this, name, shape, init, rng, linear);
    };
    for (const proj of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) {
      add(`${proj}.weight`, [d, d], linearInit(this.init, d, d, proj === 'out_proj' ? this.residualScale : 1), true);
      add(`${proj}.bias`, [d], 'zeros');
    }
    if (this.score === 'general') add('score.weight', [H, D, D], 'identity');
    if (this.score === 'additive') {
      add('score.query.weight', [H, D, D], { normal: 1 / Math.sqrt(D) });
      add('score.key.weight', [H, D, D], { normal: 1 / Math.sqrt(D) });
      add('score.v', [H, D], { normal: 1 / Math.sqrt(D) });
    }
    if (this.score === 'cosine') add('score.logit_scale', [H], { constant: Math.log(Math.sqrt(D)) });
    this.built = true;
  }

  /** Attends from `query` [B, Tq, d] to `keyValue` [B, Tk, d]. */
  attend(query: tf.Tensor3D, keyValue: tf.Tensor3D, options: AttentionCallOptions = {}): { output: tf.Tensor3D; weights?: tf.Tensor4D } {
    this.build();
    if (query.shape[2] !== this.dModel || keyValue.shape[2] !== this.dModel) {
      throw new Error(`${this.name}: expected inputs [B, T, ${this.dModel}], got query [${query.shape}] and keyValue [${keyValue.shape}]`);
    }
    return tf.tidy(() => {
      const p = this.params;
      let q = splitHeads(linear(query, p.get('q_proj.weight'), p.get('q_proj.bias')), this.numHeads);
      let k = splitHeads(linear(keyValue, p.get('k_proj.weight'), p.get('k_proj.bias')), this.numHeads);
      const v = splitHeads(linear(keyValue, p.get('v_proj.weight'), p.get('v_proj.bias')), this.numHeads);
      if (options.rotary) {
        q = applyRotary(q, options.rotary.cos, options.rotary.sin);
        k = applyRotary(k, options.rotary.cos, options.rotary.sin);
      }
      const { output, weights } = attention(q, k, v, {
        score: this.score,
        params: this.scoreParams(),
        bias: options.bias,
        dropoutRate: this.dropoutRate,
        training: options.training,
        returnWeights: options.returnWeights,
      });
      return { output: linear(mergeHeads(output), p.get('out_proj.weight'), p.get('out_proj.bias')) as tf.Tensor3D, weights };
    });
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const [query, keyValue] = Array.isArray(inputs) ? inputs : [inputs, inputs];
    return this.attend(query as tf.Tensor3D, (keyValue ?? query) as tf.Tensor3D).output;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    return (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
  }

  namedParams(prefix: string): NamedParam[] {
    this.build();
    return this.params.named(prefix);
  }

  private scoreParams(): ScoreParams {
    return scoreParamsOf(this.score, (name) => this.params.get(name));
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), dModel: this.dModel, numHeads: this.numHeads, score: this.score, dropout: this.dropoutRate, init: this.init, residualScale: this.residualScale, seed: this.seed };
  }
}

function required<T>(x: T | undefined, name: string): T {
  if (x === undefined) throw new Error(`attention: score parameter '${name}' is required for this score function`);
  return x;
}

tf.serialization.registerClass(MultiHeadAttention);
