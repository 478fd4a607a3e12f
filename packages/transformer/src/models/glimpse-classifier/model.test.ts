// The recurrent attention model (glimpse-classifier): where the sensor reads on hand-made
// canvases, the REINFORCE update's sign and its detached baseline, the deterministic inference
// path and seeded training loss, and a checkpoint round trip. Training on cluttered digits is
// in e2e/src/glimpse-training.test.ts.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createModelConfig, glimpseBoxes, type GlimpseClassifierConfig } from '@attend/core';
import { setupBackend } from '../../backend.js';
import { loadCheckpoint, saveCheckpoint } from '../../checkpoint.js';
import { imageTrainBatch } from '../../classification-task.js';
import { createModel } from '../../models.js';
import { glimpse } from '../../spatial-transformer.js';
import { maxAbsDiff, randomizeParams } from '../../test-utils/weights.js';
import { batchLoss } from '../../trainer.js';
import { gaussianLogProb, GlimpseModel, reinforceLoss } from './model.js';

let root: string;
beforeAll(async () => {
  await setupBackend();
  root = await mkdtemp(join(tmpdir(), 'attend-glimpse-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const tiny = (overrides: Partial<GlimpseClassifierConfig> = {}): GlimpseClassifierConfig =>
  createModelConfig({ preset: 'glimpse-classifier', numClasses: 4, imageSize: 16, glimpsePatch: 4, numScales: 2, numGlimpses: 3, maxSeqLen: 3, dModel: 12, glimpseHidden: 8, locationHidden: 4, glimpseSize: 10, ...overrides }) as GlimpseClassifierConfig;

const images = (count: number, size: number, seed: number): Float32Array => Float32Array.from({ length: count * size * size }, (_, i) => Math.abs(Math.sin(i * 0.37 + seed)));

describe('glimpse sensor geometry', () => {
  it('the boxes drawn for a location are the squares the sensor reads', () => {
    const config = tiny();
    // A 16 × 16 canvas, ones on the 4 × 4 square at columns 10–13, rows 2–5; zero elsewhere.
    const pixels = new Float32Array(16 * 16);
    for (let y = 2; y < 6; y++) for (let x = 10; x < 14; x++) pixels[y * 16 + x] = 1;
    // The square's centre (12, 4) in pixel edges is x = 12/8 − 1 = 0.5, y = 4/8 − 1 = −0.5.
    const location: [number, number] = [0.5, -0.5];
    const [fine, coarse] = glimpseBoxes(config, location);
    expect(fine).toEqual({ x: 10, y: 2, size: 4 });
    expect(coarse).toEqual({ x: 8, y: 0, size: 8 });
    const read = tf.tidy(() => glimpse(tf.tensor4d(pixels, [1, 1, 16, 16]), tf.tensor2d([location], [1, 2]), 4, 2).dataSync());
    // Scale 0 reads exactly the square; scale 1 (8 × 8 read at half resolution) sees it in its centre.
    expect(Array.from(read.slice(0, 16))).toEqual(Array(16).fill(1));
    const half = Array.from(read.slice(16, 32));
    expect(half.filter((v) => v > 0.99)).toHaveLength(4);
    expect([half[5], half[6], half[9], half[10]]).toEqual([1, 1, 1, 1]);
    // Off the square (the canvas centre) the fine patch reads nothing of it.
    const centre = tf.tidy(() => glimpse(tf.tensor4d(pixels, [1, 1, 16, 16]), tf.tensor2d([[0, 0]], [1, 2]), 4, 2).dataSync());
    expect(Math.max(...centre.slice(0, 16))).toBe(0);
  });
});

describe('REINFORCE with a learned baseline', () => {
  /** The policy mean after one SGD step on the REINFORCE term for one action `sample` with `reward` and `baseline`. */
  const stepMean = (sample: [number, number], reward: number, baseline: number): number[] =>
    tf.tidy(() => {
      const mean = tf.variable(tf.tensor3d([[[0, 0]]]));
      const { grads } = tf.variableGrads(() => reinforceLoss(gaussianLogProb(tf.tensor3d([[sample]]), mean, 0.2) as tf.Tensor2D, tf.tensor1d([reward]), tf.tensor2d([[baseline]])).policy, [mean]);
      const next = Array.from(tf.sub(mean, tf.mul(grads[mean.name]!, 0.01)).dataSync());
      mean.dispose();
      return next;
    });

  it('a location that earns reward gets its log-probability pushed up, one that earns less than the baseline down', () => {
    const sample: [number, number] = [0.3, -0.2];
    const towards = stepMean(sample, 1, 0);
    expect(towards[0]).toBeGreaterThan(0);
    expect(towards[1]).toBeLessThan(0);
    const away = stepMean(sample, 0, 0.5);
    expect(away[0]).toBeLessThan(0);
    expect(away[1]).toBeGreaterThan(0);
    expect(stepMean(sample, 0.5, 0.5)).toEqual([0, 0]); // no advantage, no update
  });

  it("the baseline's gradient comes from its squared error only, not through the advantage", () => {
    const logProbs = tf.tensor2d([[-1.5, 0.4], [2, -0.3]]);
    const rewards = tf.tensor1d([1, 0]);
    const baselines = tf.variable(tf.tensor2d([[0.2, 0.7], [0.1, 0.4]]));
    const { grads } = tf.variableGrads(() => {
      const { policy, baseline } = reinforceLoss(logProbs, rewards, baselines);
      return tf.add(policy, baseline) as tf.Scalar;
    }, [baselines]);
    // d/db mean_b Σ_t (R − b)² = −2 (R − b) / B; a baseline inside the advantage would add log π / B.
    const expected = [[-0.8, -0.3], [0.1, 0.4]].flat();
    expect(maxAbsDiff(grads[baselines.name]!.dataSync(), expected)).toBeLessThan(1e-6);
    const logProbVar = tf.variable(logProbs);
    const policyGrad = tf.variableGrads(() => reinforceLoss(logProbVar, rewards, baselines).policy, [logProbVar]).grads[logProbVar.name]!;
    expect(maxAbsDiff(policyGrad.dataSync(), [-0.4, -0.15, 0.05, 0.2])).toBeLessThan(1e-6); // −(R − b)/B
    tf.dispose([logProbs, rewards, baselines, logProbVar, policyGrad, ...Object.values(grads)]);
  });
});

describe('glimpse-classifier model', () => {
  it('inference is deterministic: the first glimpse at the centre, then the policy means', () => {
    const config = tiny();
    const model = createModel(config, { seed: 3 }) as GlimpseModel;
    randomizeParams(model.namedParams(), 5);
    const input = imageTrainBatch(images(2, 16, 1), Int32Array.from([0, 1]), config).input;
    const r = model.rollout(input, false);
    expect(r.logits.shape).toEqual([2, 4]);
    expect(r.locations.shape).toEqual([2, 3, 2]);
    const locations = r.locations.arraySync();
    expect(locations[0]![0]).toEqual([0, 0]);
    expect(maxAbsDiff(r.locations.slice([0, 1, 0], [-1, -1, -1]).dataSync(), r.means.dataSync())).toBe(0);
    expect(maxAbsDiff(model.forward(input).logits.dataSync(), r.logits.dataSync())).toBe(0);
    expect(maxAbsDiff(model.forward(input).logits.dataSync(), model.forward(input).logits.dataSync())).toBe(0);
    // Sampled locations move off the means by about locationStd, seeded.
    const s = model.rollout(input, true, { seed: 9 });
    const moved = maxAbsDiff(s.locations.dataSync(), r.locations.dataSync());
    expect(moved).toBeGreaterThan(0.01);
    expect(maxAbsDiff(model.rollout(input, true, { seed: 9 }).locations.dataSync(), s.locations.dataSync())).toBe(0);
    model.dispose();
  });

  it('training loss: seeded by the step (same step, same loss; another step, another sample); evaluation is the cross-entropy', () => {
    const config = tiny();
    const model = createModel(config, { seed: 3 }) as GlimpseModel;
    randomizeParams(model.namedParams(), 6);
    const batch = imageTrainBatch(images(4, 16, 2), Int32Array.from([0, 1, 2, 3]), config);
    const loss = (training: boolean, step: number): number => batchLoss(model, batch, { training, step }).dataSync()[0]!;
    expect(loss(true, 4)).toBe(loss(true, 4));
    expect(loss(true, 4)).not.toBe(loss(true, 5));
    const logits = model.forward(batch.input).logits;
    const ce = tf.tidy(() => tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d(batch.labels, 'int32'), 4), logits).dataSync()[0]!);
    expect(loss(false, 0)).toBeCloseTo(ce, 5);
    // The reward is the accuracy at the sampled locations, averaged over the training calls.
    const reward = model.takeReward();
    expect(reward).toBeGreaterThanOrEqual(0);
    expect(reward).toBeLessThanOrEqual(1);
    expect(model.takeReward()).toBeUndefined();
    model.dispose();
  });

  it('gradients reach every weight; the sensor does not pass the policy a gradient through the location', () => {
    const config = tiny();
    const model = createModel(config, { seed: 4 }) as GlimpseModel;
    randomizeParams(model.namedParams(), 7);
    const batch = imageTrainBatch(images(4, 16, 3), Int32Array.from([0, 1, 2, 3]), config);
    const vars = model.trainableVariables();
    const { grads } = tf.variableGrads(() => batchLoss(model, batch, { training: true, step: 1 }), vars);
    for (const p of model.namedParams()) expect(tf.sum(tf.abs(grads[p.variable.name]!)).dataSync()[0], p.name).toBeGreaterThan(0);
    // Cross-entropy alone (evaluation) reaches the location network only through the sensor — which it must not.
    const ce = tf.variableGrads(() => batchLoss(model, batch, { training: false }), vars).grads;
    for (const name of ['location.weight', 'location.bias', 'baseline.weight', 'baseline.bias']) {
      const v = model.namedParams().find((p) => p.name === name)!.variable;
      expect(ce[v.name], name).toBeUndefined();
    }
    tf.dispose([...Object.values(grads), ...Object.values(ce)]);
    model.dispose();
  });

  it("the core learns from the classification loss alone: its gradient does not change with the baseline's weights", () => {
    const config = tiny();
    const model = createModel(config, { seed: 5 }) as GlimpseModel;
    randomizeParams(model.namedParams(), 8);
    const batch = imageTrainBatch(images(4, 16, 5), Int32Array.from([0, 1, 2, 3]), config);
    const param = (name: string) => model.namedParams().find((p) => p.name === name)!.variable;
    const coreGrads = () => {
      const vars = ['core.hidden.weight', 'core.input.weight', 'glimpse.what.weight'].map(param);
      const { grads } = tf.variableGrads(() => batchLoss(model, batch, { training: true, step: 3 }), vars);
      const values = vars.map((v) => Array.from(grads[v.name]!.dataSync()));
      tf.dispose(Object.values(grads));
      return values.flat();
    };
    const before = coreGrads();
    // Another baseline changes every advantage, so the policy's update, but not the core's.
    const bias = param('baseline.bias');
    bias.assign(tf.add(bias, 0.7) as tf.Tensor1D);
    expect(maxAbsDiff(coreGrads(), before)).toBe(0);
    model.dispose();
  });

  it("the hybrid loss's terms: the training loss is their sum, and each reaches its own weights only", () => {
    const config = tiny();
    const model = createModel(config, { seed: 6 }) as GlimpseModel;
    randomizeParams(model.namedParams(), 9);
    const batch = imageTrainBatch(images(4, 16, 6), Int32Array.from([0, 1, 2, 3]), config);
    const context = { training: true, step: 2, labelSmoothing: 0 };
    const terms = model.hybridLoss(batch, context);
    const sum = terms.ce.dataSync()[0]! + terms.policy.dataSync()[0]! + terms.baseline.dataSync()[0]!;
    expect(batchLoss(model, batch, context).dataSync()[0]).toBeCloseTo(sum, 5);
    // So a weight on the REINFORCE or the baseline term scales only its own weights' gradients.
    const reached = (term: 'ce' | 'policy' | 'baseline'): string[] => {
      const { grads } = tf.variableGrads(() => model.hybridLoss(batch, context)[term], model.trainableVariables());
      const names = model.namedParams().filter((p) => grads[p.variable.name] !== undefined && tf.sum(tf.abs(grads[p.variable.name]!)).dataSync()[0]! > 0).map((p) => p.name);
      tf.dispose(Object.values(grads));
      return names;
    };
    expect(reached('policy')).toEqual(['location.weight', 'location.bias']);
    expect(reached('baseline')).toEqual(['baseline.weight', 'baseline.bias']);
    expect(reached('ce').filter((name) => name.startsWith('location') || name.startsWith('baseline'))).toEqual([]);
    model.dispose();
  });

  it('round-trips through a checkpoint', async () => {
    const config = tiny();
    const model = createModel(config, { seed: 8 });
    randomizeParams(model.namedParams(), 9);
    const dir = join(root, 'ckpt');
    await saveCheckpoint(dir, { model });
    const loaded = (await loadCheckpoint(dir)).model;
    const input = imageTrainBatch(images(2, 16, 4), Int32Array.from([0, 1]), config).input;
    expect(maxAbsDiff(loaded.forward(input).logits.dataSync(), model.forward(input).logits.dataSync())).toBe(0);
    model.dispose();
    loaded.dispose();
  });
});
