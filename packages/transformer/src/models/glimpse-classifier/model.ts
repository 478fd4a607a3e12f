// The recurrent attention model (Mnih et al., 2014, §3): for t = 1 … T the glimpse sensor
// (spatial-transformer.ts `glimpse`) reads ρ(x, l) around location l, the glimpse network makes
// g = relu(W·relu(W·ρ) + W·relu(W·l)) (what and where), the core is the paper's rectifier RNN
// h_t = relu(W·g_t + W·h_{t−1}), and the location network proposes the next location's mean
// μ = tanh(W·h_t). The first glimpse is at the canvas centre; the class is read from h_T.
// Training (`trainingLoss`) samples l ~ N(μ, σ²) with fixed σ and minimises the hybrid loss:
// cross-entropy + REINFORCE (reward 1 for a correct class, advantage = reward − baseline)
// + the baseline's squared error. The location network and the baseline b_t = W·h_t read a
// detached state, so REINFORCE trains the policy alone and the core learns to classify. At
// inference every location is the mean, so the model is deterministic.

import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { createRng, sensorValues, ShapeError, type GlimpseClassifierConfig } from '@attend/core';
import type { ForwardOptions, ForwardResult, TokenBatch } from '../../model.js';
import type { TrainingLossContext } from '../../models.js';
import { crossEntropy } from '../../loss.js';
import { addN, dropout, linear } from '../../ops.js';
import { glorot, ParamStore, type NamedParam } from '../../params.js';
import { detached, glimpse } from '../../spatial-transformer.js';
import type { TrainBatch } from '../../trainer.js';

/** Holds the glimpse-classifier's weights. */
class GlimpseParams extends tfl.layers.Layer {
  static className = 'AttendGlimpseParams';
}

/** One pass of the model over a batch of canvases. */
export interface GlimpseRollout {
  /** Class logits [B, numClasses] after the last glimpse. */
  logits: tf.Tensor2D;
  /** Where each glimpse was taken [B, T, 2] (x, y in [−1, 1]); the first is the centre. */
  locations: tf.Tensor3D;
  /** The policy's means [B, T − 1, 2] for glimpses 2 … T. */
  means: tf.Tensor3D;
  /** The baseline b_t [B, T − 1] for each chosen location (from the detached state). */
  baselines: tf.Tensor2D;
}

/**
 * log N(sample; mean, std²) summed over the two coordinates: [..., 2] → [...]. Its gradient in
 * `mean` is (sample − mean)/std², the direction REINFORCE moves the policy's mean.
 */
export function gaussianLogProb(sample: tf.Tensor, mean: tf.Tensor, std: number): tf.Tensor {
  return tf.tidy(() => {
    const z = tf.div(tf.sub(sample, mean), std);
    return tf.sub(tf.mul(tf.sum(tf.square(z), -1), -0.5), 2 * Math.log(std * Math.sqrt(2 * Math.PI)));
  });
}

/**
 * The REINFORCE terms of the hybrid loss (Mnih et al., 2014, eq. 2 with a baseline; Williams,
 * 1992): `policy` = −mean_b Σ_t (R_b − b_bt)·log π_bt, its advantage computed from a detached
 * baseline so that the baseline is trained only by `baseline` = mean_b Σ_t (R_b − b_bt)².
 * `logProbs` and `baselines` are [B, A] (A actions per row), `rewards` [B].
 */
export function reinforceLoss(logProbs: tf.Tensor2D, rewards: tf.Tensor1D, baselines: tf.Tensor2D): { policy: tf.Scalar; baseline: tf.Scalar } {
  return tf.tidy(() => {
    const reward = tf.expandDims(rewards, 1); // [B, 1]
    const advantage = tf.sub(reward, detached(baselines)); // no gradient path into the baseline
    const policy = tf.neg(tf.mean(tf.sum(tf.mul(advantage, logProbs), 1))) as tf.Scalar;
    const baseline = tf.mean(tf.sum(tf.square(tf.sub(reward, baselines)), 1)) as tf.Scalar;
    return { policy, baseline };
  });
}

/** The glimpse-classifier preset: a classifier on `TokenBatch.pixels` with its own training objective. */
export class GlimpseModel {
  readonly config: GlimpseClassifierConfig;
  private readonly params = new ParamStore();
  private readonly holder = new GlimpseParams({});
  private readonly seed: number;
  private rewardSum = 0;
  private rewardRows = 0;

  constructor(config: GlimpseClassifierConfig, options: { seed?: number } = {}) {
    this.config = config;
    this.seed = options.seed ?? 0;
    const c = config;
    const rng = createRng(this.seed * 7919 + 5);
    const P = sensorValues(c);
    const add = (name: string, inDim: number, outDim: number, bias = true): void => {
      this.params.add(this.holder, `${name}.weight`, [inDim, outDim], glorot(inDim, outDim), rng, true);
      if (bias) this.params.add(this.holder, `${name}.bias`, [outDim], 'zeros', rng);
    };
    add('glimpse.what', P, c.glimpseHidden);
    add('glimpse.where', 2, c.locationHidden);
    add('glimpse.out_what', c.glimpseHidden, c.glimpseSize);
    add('glimpse.out_where', c.locationHidden, c.glimpseSize, false);
    add('core.input', c.glimpseSize, c.dModel);
    add('core.hidden', c.dModel, c.dModel, false);
    add('location', c.dModel, 2);
    add('baseline', c.dModel, 1);
    add('classifier', c.dModel, c.numClasses);
  }

  namedParams(): NamedParam[] {
    return this.params.named('');
  }

  trainableVariables(): tf.Variable[] {
    return this.namedParams().map((p) => p.variable);
  }

  parameterCount(): number {
    return this.namedParams().reduce((n, p) => n + p.variable.size, 0);
  }

  encode(): tf.Tensor3D {
    throw new ShapeError("preset 'glimpse-classifier' has no encoder states");
  }

  decode(): tf.Tensor3D {
    throw new ShapeError("preset 'glimpse-classifier' has no decoder");
  }

  lmLogits(): tf.Tensor3D {
    throw new ShapeError("preset 'glimpse-classifier' has no language-model head");
  }

  /** Class logits [B, numClasses], every location the policy's mean (deterministic). */
  forward(input: TokenBatch, _target?: TokenBatch, options: ForwardOptions = {}): ForwardResult {
    return tf.tidy(() => {
      const r = this.rollout(input, options.training ?? false);
      return { logits: r.logits };
    });
  }

  /**
   * The glimpses of the model on `input`: logits and locations, the policy's means when `sample`
   * is absent, else locations drawn with the generator of `sample.seed` (as in training).
   */
  rollout(input: TokenBatch, training: boolean, sample?: { seed: number }): GlimpseRollout {
    const c = this.config;
    if (!input.pixels) throw new ShapeError("glimpse-classifier input needs 'pixels' (images [B, C, H, W])");
    const B = input.batchSize;
    const S = c.imageSize;
    if (input.pixels.length !== B * c.numChannels * S * S) throw new ShapeError(`images: ${input.pixels.length} values for ${B} × ${c.numChannels} × ${S} × ${S}`);
    const rng = sample ? createRng(sample.seed) : undefined;
    return tf.tidy(() => {
      const p = (name: string): tf.Tensor => this.params.get(name);
      const raw = tf.tensor4d(input.pixels!, [B, c.numChannels, S, S]);
      const image = c.pixelScale === 1 ? raw : (tf.mul(raw, c.pixelScale) as tf.Tensor4D);
      let h: tf.Tensor2D = tf.zeros([B, c.dModel]);
      let l: tf.Tensor2D = tf.zeros([B, 2]);
      const locations: tf.Tensor2D[] = [];
      const means: tf.Tensor2D[] = [];
      const baselines: tf.Tensor2D[] = [];
      for (let t = 0; t < c.numGlimpses; t++) {
        if (t > 0) {
          // The location and baseline networks read a detached state: REINFORCE's noisy gradient
          // trains the policy only, and the core learns from the classification loss.
          const state = detached(h);
          const mean = tf.tanh(linear(state, p('location.weight'), p('location.bias'))) as tf.Tensor2D;
          means.push(mean);
          baselines.push(linear(state, p('baseline.weight'), p('baseline.bias')) as tf.Tensor2D);
          // The location is an action: the sensor's gradient must not reach the policy through it.
          const chosen = detached(mean) as tf.Tensor2D;
          l = rng ? tf.add(chosen, tf.tensor2d(Float32Array.from({ length: B * 2 }, () => c.locationStd * rng.normal()), [B, 2])) : chosen;
        }
        locations.push(l);
        const read = tf.reshape(glimpse(image, l, c.glimpsePatch, c.numScales), [B, sensorValues(c)]);
        const what = tf.relu(linear(read, p('glimpse.what.weight'), p('glimpse.what.bias')));
        const where = tf.relu(linear(l, p('glimpse.where.weight'), p('glimpse.where.bias')));
        const g = dropout(tf.relu(tf.add(linear(what, p('glimpse.out_what.weight'), p('glimpse.out_what.bias')), linear(where, p('glimpse.out_where.weight')))), c.dropout, training);
        h = tf.relu(tf.add(linear(g, p('core.input.weight'), p('core.input.bias')), linear(h, p('core.hidden.weight')))) as tf.Tensor2D;
      }
      const logits = linear(h, p('classifier.weight'), p('classifier.bias')) as tf.Tensor2D;
      const stackOrEmpty = <T extends tf.Tensor>(xs: tf.Tensor[], shape: number[]): T => (xs.length > 0 ? tf.stack(xs, 1) : tf.zeros(shape)) as T;
      return {
        logits,
        locations: tf.stack(locations, 1) as tf.Tensor3D,
        means: stackOrEmpty<tf.Tensor3D>(means, [B, 0, 2]),
        baselines: stackOrEmpty<tf.Tensor2D>(baselines.map((b) => tf.reshape(b, [B])), [B, 0]),
      };
    });
  }

  /**
   * The hybrid loss (see the file comment). In training the locations are sampled from a
   * generator seeded by the model seed and `context.step`, so a run is reproducible; in
   * evaluation it is the cross-entropy at the deterministic locations.
   */
  trainingLoss(batch: TrainBatch, context: TrainingLossContext): tf.Scalar {
    return tf.tidy(() => {
      if (!context.training) {
        const { logits } = this.rollout(batch.input, false);
        return crossEntropy(logits, batch.labels, { labelSmoothing: context.labelSmoothing });
      }
      const { ce, policy, baseline } = this.hybridLoss(batch, context);
      return addN([ce, policy, baseline]) as tf.Scalar;
    });
  }

  /**
   * The three terms of the training loss at sampled locations (the generator seeded by the model
   * seed and `context.step`): the cross-entropy, REINFORCE's policy term and the baseline's
   * squared error. `trainingLoss` adds them; the where-to-look diagnosis weighs them.
   */
  hybridLoss(batch: TrainBatch, context: TrainingLossContext): { ce: tf.Scalar; policy: tf.Scalar; baseline: tf.Scalar } {
    return tf.tidy(() => {
      const r = this.rollout(batch.input, true, { seed: this.seed * 104_729 + context.step });
      const ce = crossEntropy(r.logits, batch.labels, { labelSmoothing: context.labelSmoothing });
      const rewards = tf.cast(tf.equal(tf.argMax(detached(r.logits), 1), tf.tensor1d(batch.labels, 'int32')), 'float32') as tf.Tensor1D;
      this.rewardSum += tf.sum(rewards).dataSync()[0]!;
      this.rewardRows += batch.labels.length;
      // The chosen locations of glimpses 2 … T are the actions whose log-probabilities REINFORCE weighs.
      const actions = tf.slice(r.locations, [0, 1, 0], [-1, -1, -1]);
      const logProbs = gaussianLogProb(actions, r.means, this.config.locationStd) as tf.Tensor2D;
      return { ce, ...reinforceLoss(logProbs, rewards, r.baselines) };
    });
  }

  /** Mean reward (accuracy at sampled locations) of the training batches since the last call; undefined when none ran. */
  takeReward(): number | undefined {
    const mean = this.rewardRows > 0 ? this.rewardSum / this.rewardRows : undefined;
    this.rewardSum = 0;
    this.rewardRows = 0;
    return mean;
  }

  dispose(): void {
    for (const p of this.namedParams()) p.variable.dispose();
  }
}

tf.serialization.registerClass(GlimpseParams);
