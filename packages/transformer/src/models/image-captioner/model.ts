// The image captioner (Show and Tell; Show, Attend and Tell — Xu et al., 2015). The encoder is
// one convolution over the single-channel image (kernel patchSize, stride patchStride, no
// padding), computed as the image's windows (im2col, on the host) times a [k², D] kernel —
// the tfjs wasm backend has no Conv2DBackpropFilter kernel, and a MatMul's gradient is there —
// plus a bias and a learned position per location, then a ReLU: the L × D grid a_i.
// The decoder is an LSTM started from the mean feature, h_0 = tanh(W_h ā + b), c_0 = tanh(W_c ā + b)
// (Xu et al.'s f_init). Each word t:
//   none: x_t = E y_{t−1};
//   soft: α_t = softmax_i(v·tanh(W_a a_i + U_a h_{t−1})) (Bahdanau's additive score),
//         β_t = σ(w_β·h_{t−1} + b_β), z_t = β_t Σ_i α_ti a_i;
//   hard: z_t = a_{s_t}, s_t sampled from α_t in training, its arg-max otherwise (or, with
//         `hardInference` 'expectation', the expected context Σ_i α_ti a_i, as Xu et al. §4.1 compare);
// x_t = [E y_{t−1}; z_t], (h_t, c_t) = LSTM(x_t, (h_{t−1}, c_{t−1})), and the deep output
// p(y_t) ∝ exp(L_o(E y_{t−1} + L_h h_t + L_z z_t)) (Xu et al.'s eq. 7).
// The training objective (`trainingLoss`): soft adds the doubly stochastic penalty
// λ Σ_i (1 − Σ_t α_ti)²; hard is REINFORCE (Xu et al.'s eq. 11–12) with a moving-average
// baseline and an entropy bonus.

import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { createRng, featureGrid, hardCaptionerConfig, ShapeError, type HardInference, type ImageCaptionerConfig, type Rng } from '@attend/core';
import { crossEntropy } from '../../loss.js';
import { EmbeddingTable, type AttentionMaps, type ForwardOptions, type ForwardResult, type TokenBatch } from '../../model.js';
import type { AttendModel, TrainingLossContext } from '../../models.js';
import { dropout, embeddingLookup, linear } from '../../ops.js';
import { glorot, ParamStore, type NamedParam } from '../../params.js';
import type { TrainBatch } from '../../trainer.js';
import { RnnLayer, type RnnState } from '../rnn-seq2seq/model.js';

/** Holds the encoder's and decoder's weights other than the embedding and the LSTM. */
class CaptionerParams extends tfl.layers.Layer {
  static className = 'AttendCaptionerParams';
}

/**
 * The windows of images [B, H, W] (row-major) that a convolution of kernel k and stride s
 * without padding reads: [B, L, k²], locations row-major over the grid, each window row-major.
 */
export function imageWindows(pixels: Float32Array, batchSize: number, config: Pick<ImageCaptionerConfig, 'imageHeight' | 'imageWidth' | 'patchSize' | 'patchStride'>): Float32Array {
  const { imageHeight: H, imageWidth: W, patchSize: k, patchStride: s } = config;
  if (pixels.length !== batchSize * H * W) throw new ShapeError(`images: ${pixels.length} values for ${batchSize} × ${H} × ${W}`);
  const { rows, cols } = featureGrid(config);
  const out = new Float32Array(batchSize * rows * cols * k * k);
  let n = 0;
  for (let b = 0; b < batchSize; b++) {
    for (let gy = 0; gy < rows; gy++) {
      for (let gx = 0; gx < cols; gx++) {
        for (let dy = 0; dy < k; dy++) {
          const at = b * H * W + (gy * s + dy) * W + gx * s;
          out.set(pixels.subarray(at, at + k), n);
          n += k;
        }
      }
    }
  }
  return out;
}

/**
 * The doubly stochastic penalty (Xu et al., §4.2.1): λ Σ_i (1 − Σ_t α_ti)², Σ_t over each row's
 * counted words (`mask` [B, T], 1 or 0), averaged over the rows. alphas [B, T, L].
 */
export function doublyStochasticPenalty(alphas: tf.Tensor3D, mask: tf.Tensor2D, lambda: number): tf.Scalar {
  return tf.tidy(() => {
    const total = tf.sum(tf.mul(alphas, tf.expandDims(mask, 2)), 1); // Σ_t α_ti [B, L]
    return tf.mul(tf.mean(tf.sum(tf.square(tf.sub(1, total)), 1)), lambda) as tf.Scalar;
  });
}

/**
 * The REINFORCE surrogate of hard attention (Xu et al., eq. 12), to minimise: per row
 * −[log p(y | s̃) + (R − b)·log p(s̃) + λ_e·H[α]], averaged over the rows. Its gradient is the
 * paper's estimate: the likelihood's own gradient, the locations' log-probability weighted by the
 * reward's advantage over the baseline (a constant here: no gradient flows through it), and the
 * entropy bonus. logLikelihood, logProbChosen, entropy [B]; advantage R − b per row.
 */
export function reinforceSurrogate(logLikelihood: tf.Tensor1D, logProbChosen: tf.Tensor1D, entropy: tf.Tensor1D, advantage: Float32Array, entropyBonus: number): tf.Scalar {
  return tf.tidy(() => {
    const policy = tf.mul(logProbChosen, tf.tensor1d(advantage));
    return tf.neg(tf.mean(tf.add(tf.add(logLikelihood, policy), tf.mul(entropy, entropyBonus)))) as tf.Scalar;
  });
}

/** A moving-average baseline b ← decay·b + (1 − decay)·r, started at the first reward. */
export class MovingBaseline {
  value: number | undefined;
  constructor(readonly decay: number) {}

  update(reward: number): void {
    this.value = this.value === undefined ? reward : this.decay * this.value + (1 - this.decay) * reward;
  }
}

/** The decoder's run over a teacher-forced caption: output vectors, attention rows and (hard) the chosen locations. */
interface DecoderRun {
  /** E y_{t−1} + L_h h_t + L_z z_t, [B, T, d] (dropout applied in training). */
  out: tf.Tensor3D;
  /** α [B, T, L]; absent without attention. */
  alphas?: tf.Tensor3D;
  /** Hard attention: one-hot of s_t [B, T, L]. */
  chosen?: tf.Tensor3D;
}

/**
 * How hard attention reads the grid at test time: the arg-max location, or the expected
 * context Σ_i α_i a_i (Xu et al. §4.1: "taking the expectation" over the locations instead of one).
 */
export type { HardInference };

/** How hard attention picks s_t: sampled from α with `rng` (training), or as `HardInference` says. */
type Choice = { sample: Rng } | HardInference;

/** The image-captioner preset: `encode` gives the feature grid, `decode` the output vectors, `lmLogits` the words. */
export class CaptionerModel {
  readonly config: ImageCaptionerConfig;
  readonly embedTokens: EmbeddingTable;
  readonly lstm: RnnLayer;
  /** Hard attention's reward baseline; kept in memory only (a resumed run starts it again). */
  readonly baseline: MovingBaseline;
  /** Hard attention outside training: the arg-max location (default) or the expected context. */
  hardInference: HardInference = 'argmax';
  private readonly params = new ParamStore();
  private readonly holder = new CaptionerParams({});

  constructor(config: ImageCaptionerConfig, options: { seed?: number } = {}) {
    this.config = config;
    const seed = options.seed ?? 0;
    const d = config.dModel;
    const D = config.featureSize;
    const k2 = config.patchSize ** 2;
    const { rows, cols } = featureGrid(config);
    const attends = config.visualAttention !== 'none';
    this.baseline = new MovingBaseline(config.baselineDecay);
    this.embedTokens = new EmbeddingTable({ rows: config.vocabSize, dModel: d, seed: seed * 7919 + 1 });
    this.lstm = new RnnLayer({ cell: 'lstm', inputSize: attends ? d + D : d, hiddenSize: d, suffix: 'l0', seed: seed * 7919 + 2 });
    const rng = createRng(seed * 7919 + 3);
    const add = (name: string, shape: number[], init: Parameters<ParamStore['add']>[3], linearKernel = false): void => this.params.add(this.holder, name, shape, init, rng, linearKernel);
    add('encoder.conv.weight', [k2, D], glorot(k2, D, 2), true);
    add('encoder.conv.bias', [D], 'zeros');
    add('encoder.positions', [rows * cols, D], { normal: 0.1 });
    for (const part of ['init_h', 'init_c']) {
      add(`decoder.${part}.weight`, [D, d], glorot(D, d), true);
      add(`decoder.${part}.bias`, [d], 'zeros');
    }
    if (attends) {
      add('decoder.attention.feature.weight', [D, d], glorot(D, d), true);
      add('decoder.attention.query.weight', [d, d], glorot(d, d), true);
      add('decoder.attention.v', [d], { normal: 1 / Math.sqrt(d) });
      add('decoder.out_z.weight', [D, d], glorot(D, d), true);
    }
    if (config.visualAttention === 'soft') {
      add('decoder.attention.gate.weight', [d, 1], glorot(d, 1), true);
      add('decoder.attention.gate.bias', [1], 'zeros');
    }
    add('decoder.out_h.weight', [d, d], glorot(d, d), true);
    add('lm_head.weight', [d, config.vocabSize], glorot(d, config.vocabSize), true);
    add('lm_head.bias', [config.vocabSize], 'zeros');
  }

  /** Every parameter with its checkpoint name, in a stable order. */
  namedParams(): NamedParam[] {
    return [...this.embedTokens.namedParams('embed_tokens'), ...this.lstm.namedParams('decoder.lstm'), ...this.params.named('')];
  }

  trainableVariables(): tf.Variable[] {
    return this.namedParams().map((p) => p.variable);
  }

  parameterCount(): number {
    return this.namedParams().reduce((n, p) => n + p.variable.size, 0);
  }

  /** The feature grid a [B, L, D] of images `source.pixels` [B, H, W]. */
  encode(source: TokenBatch, _options: ForwardOptions = {}, _maps?: AttentionMaps): tf.Tensor3D {
    if (!source.pixels) throw new ShapeError("image-captioner input needs 'pixels' (images [B, H, W])");
    const B = source.batchSize;
    const windows = imageWindows(source.pixels, B, this.config);
    const k2 = this.config.patchSize ** 2;
    const L = windows.length / (B * k2);
    return tf.tidy(() => {
      const x = tf.tensor3d(windows, [B, L, k2]);
      const scaled = this.config.pixelScale === 1 ? x : tf.mul(x, this.config.pixelScale);
      const conv = linear(scaled, this.params.get('encoder.conv.weight'), this.params.get('encoder.conv.bias'));
      return tf.relu(tf.add(conv, this.params.get('encoder.positions'))) as tf.Tensor3D;
    });
  }

  /** The LSTM's first state from the mean feature: h_0 = tanh(W_h ā + b_h), c_0 = tanh(W_c ā + b_c). */
  initialState(features: tf.Tensor3D): RnnState {
    return tf.tidy(() => {
      const mean = tf.mean(features, 1);
      const init = (part: string) => tf.tanh(linear(mean, this.params.get(`decoder.${part}.weight`), this.params.get(`decoder.${part}.bias`))) as tf.Tensor2D;
      return { h: init('init_h'), c: init('init_c') };
    });
  }

  /** W_a a_i for every location, [B, L, d]: the keys of the additive score, taken once per image. */
  projectedFeatures(features: tf.Tensor3D): tf.Tensor3D {
    return linear(features, this.params.get('decoder.attention.feature.weight')) as tf.Tensor3D;
  }

  /** α_t [B, L] = softmax_i(v·tanh(W_a a_i + U_a h)) for the previous state h [B, d]. */
  attentionWeights(keys: tf.Tensor3D, h: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const q = linear(h, this.params.get('decoder.attention.query.weight'));
      const hidden = tf.tanh(tf.add(keys, tf.expandDims(q, 1)));
      return tf.softmax(tf.sum(tf.mul(hidden, this.params.get('decoder.attention.v')), -1)) as tf.Tensor2D;
    });
  }

  /** The soft context z = β Σ_i α_i a_i with β = σ(w_β·h + b_β), for the previous state h. */
  softContext(features: tf.Tensor3D, alpha: tf.Tensor2D, h: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const beta = tf.sigmoid(linear(h, this.params.get('decoder.attention.gate.weight'), this.params.get('decoder.attention.gate.bias')));
      return tf.mul(beta, tf.sum(tf.mul(tf.expandDims(alpha, 2), features), 1)) as tf.Tensor2D;
    });
  }

  /**
   * Runs the decoder over `target` (bos + words) from the image features, one word at a time
   * (see the file's comment). Hard attention picks s_t as `choice` says.
   */
  private run(features: tf.Tensor3D, target: TokenBatch, training: boolean, choice: Choice): DecoderRun {
    const { batchSize: B, seqLen: T, ids } = target;
    if (features.shape[0] !== B) throw new ShapeError(`decode: features of ${features.shape[0]} images for a target batch of ${B}`);
    if (T > this.config.maxSeqLen) throw new ShapeError(`caption of length ${T} exceeds maxSeqLen ${this.config.maxSeqLen}`);
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= this.config.vocabSize) throw new ShapeError(`token id ${id} is outside the vocabulary [0, ${this.config.vocabSize})`);
    }
    const attention = this.config.visualAttention;
    const L = features.shape[1];
    const e = tf.unstack(embeddingLookup(this.embedTokens.table(), ids, [B, T]), 1) as tf.Tensor2D[];
    const keys = attention === 'none' ? undefined : this.projectedFeatures(features);
    let state = this.initialState(features);
    const outs: tf.Tensor2D[] = [];
    const alphas: tf.Tensor2D[] = [];
    const chosen: tf.Tensor2D[] = [];
    for (let t = 0; t < T; t++) {
      let x = e[t]!;
      let z: tf.Tensor2D | undefined;
      if (keys) {
        const alpha = this.attentionWeights(keys, state.h);
        alphas.push(alpha);
        if (attention === 'soft') z = this.softContext(features, alpha, state.h);
        else if (choice === 'expectation') z = tf.sum(tf.mul(tf.expandDims(alpha, 2), features), 1) as tf.Tensor2D;
        else {
          const pick = tf.oneHot(choice === 'argmax' ? tf.argMax(alpha, 1) : tf.tensor1d(sampleRows(alpha.dataSync() as Float32Array, L, choice.sample), 'int32'), L).toFloat() as tf.Tensor2D;
          chosen.push(pick);
          z = tf.sum(tf.mul(tf.expandDims(pick, 2), features), 1) as tf.Tensor2D;
        }
        x = tf.concat([x, z], 1);
      }
      state = this.lstm.step(this.lstm.inputGates(x) as tf.Tensor2D, state);
      let out = tf.add(e[t]!, linear(state.h, this.params.get('decoder.out_h.weight')));
      if (z) out = tf.add(out, linear(z, this.params.get('decoder.out_z.weight')));
      outs.push(out as tf.Tensor2D);
    }
    return {
      out: dropout(tf.stack(outs, 1), this.config.dropout, training) as tf.Tensor3D,
      ...(alphas.length > 0 ? { alphas: tf.stack(alphas, 1) as tf.Tensor3D } : {}),
      ...(chosen.length > 0 ? { chosen: tf.stack(chosen, 1) as tf.Tensor3D } : {}),
    };
  }

  /**
   * Output vectors [B, T, d] for the decoder input `target` (bos + words), given the image
   * features in `memory.states`; hard attention reads as `hardInference` says. Appends the
   * attention rows α [B, 1, T, L] to `maps.cross` (hard attention reads its arg-max).
   */
  decode(target: TokenBatch, memory: { states: tf.Tensor3D; source: TokenBatch } | undefined, options: ForwardOptions = {}, maps?: AttentionMaps): tf.Tensor3D {
    if (!memory) throw new ShapeError('image-captioner decode needs the image features');
    const result = tf.tidy(() => {
      const r = this.run(memory.states, target, options.training ?? false, this.hardInference);
      return { out: r.out, weights: maps && r.alphas ? (tf.expandDims(r.alphas, 1) as tf.Tensor4D) : undefined };
    });
    if (result.weights) maps!.cross.push(result.weights);
    return result.out;
  }

  /** Word logits [B, T, V] = L_o(output vectors). */
  lmLogits(states: tf.Tensor3D): tf.Tensor3D {
    return linear(states, this.params.get('lm_head.weight'), this.params.get('lm_head.bias')) as tf.Tensor3D;
  }

  /** Images `input.pixels`, decoder input `target` (bos + words) → logits [B, T, V] (+ attention rows as `attention.cross`). */
  forward(input: TokenBatch, target?: TokenBatch, options: ForwardOptions = {}): ForwardResult {
    if (!target) throw new ShapeError('image-captioner forward needs a target (decoder input) batch');
    const maps: AttentionMaps = { encoder: [], decoderSelf: [], cross: [] };
    const out = tf.tidy(() => {
      const states = this.encode(input, options);
      const logits = this.lmLogits(this.decode(target, { states, source: input }, options, options.returnAttention ? maps : undefined));
      return { logits, cross: maps.cross };
    });
    return options.returnAttention ? { logits: out.logits, attention: { encoder: [], decoderSelf: [], cross: out.cross } } : { logits: out.logits };
  }

  /**
   * The objective: the words' cross-entropy (mean over counted words); soft attention adds the
   * doubly stochastic penalty; hard attention is the REINFORCE surrogate, its locations sampled
   * from α with a generator seeded by the step, its reward
   * each row's mean word log-likelihood and its baseline the moving average of the batches' mean
   * reward. Evaluated (not training), hard attention's loss is the words' cross-entropy at the
   * arg-max locations (or the expected context: `hardInference`), the model used at test time.
   */
  trainingLoss(batch: TrainBatch, context: TrainingLossContext): tf.Scalar {
    if (!batch.target) throw new ShapeError('image-captioner training needs a target (decoder input) batch');
    const target = batch.target;
    const { batchSize: B, seqLen: T } = target;
    const weights = batch.labelWeights ?? new Float32Array(B * T).fill(1);
    const hard = this.config.visualAttention === 'hard';
    const choice: Choice = hard && context.training ? { sample: createRng(context.step * 7919 + 11) } : this.hardInference;
    return tf.tidy(() => {
      const features = this.encode(batch.input, { training: context.training });
      const r = this.run(features, target, context.training, choice);
      const logits = tf.reshape(this.lmLogits(r.out), [B * T, this.config.vocabSize]) as tf.Tensor2D;
      const mask = tf.tensor2d(weights, [B, T]);
      if (!hard || !context.training) {
        const ce = crossEntropy(logits, batch.labels, { labelSmoothing: context.labelSmoothing, weights });
        if (!r.alphas || this.config.attentionPenalty === 0) return ce;
        return tf.add(ce, doublyStochasticPenalty(r.alphas, mask, this.config.attentionPenalty)) as tf.Scalar;
      }
      const counts = tf.maximum(tf.sum(mask, 1), 1);
      const picked = tf.sum(tf.mul(tf.logSoftmax(logits), tf.oneHot(tf.tensor1d(batch.labels, 'int32'), this.config.vocabSize)), -1);
      const logLikelihood = tf.div(tf.sum(tf.mul(tf.reshape(picked, [B, T]), mask), 1), counts) as tf.Tensor1D;
      const logAlpha = tf.log(tf.add(r.alphas!, 1e-10));
      const logProbChosen = tf.sum(tf.mul(tf.sum(tf.mul(r.chosen!, logAlpha), 2), mask), 1) as tf.Tensor1D;
      const entropy = tf.div(tf.sum(tf.mul(tf.neg(tf.sum(tf.mul(r.alphas!, logAlpha), 2)), mask), 1), counts) as tf.Tensor1D;
      const rewards = logLikelihood.dataSync() as Float32Array;
      const mean = rewards.reduce((a, b) => a + b, 0) / B;
      const baseline = this.baseline.value ?? mean;
      this.baseline.update(mean);
      return reinforceSurrogate(logLikelihood, logProbChosen, entropy, rewards.map((x) => x - baseline), this.config.entropyBonus);
    });
  }

  /** Frees every tensor the model owns. */
  dispose(): void {
    for (const p of this.namedParams()) p.variable.dispose();
  }
}

/**
 * Sets how the hard captioner `model` reads the grid outside training (`hardInference`); any
 * other model is a ConfigError naming `hardInference` (core's `hardCaptionerConfig`).
 */
export function setHardInference(model: AttendModel, hardInference: HardInference): void {
  hardCaptionerConfig(model.config, hardInference);
  (model as CaptionerModel).hardInference = hardInference;
}

/** One index per row of `probs` [rows, L], drawn from the row's distribution with `rng`. */
function sampleRows(probs: Float32Array, L: number, rng: Rng): Int32Array {
  const rows = probs.length / L;
  return Int32Array.from({ length: rows }, (_, b) => {
    let u = rng.next();
    for (let i = 0; i < L; i++) {
      u -= probs[b * L + i]!;
      if (u < 0) return i;
    }
    return L - 1;
  });
}

tf.serialization.registerClass(CaptionerParams);
