// The captioner's pieces on hand cases (windows, soft attention, the doubly stochastic penalty,
// REINFORCE's sign, the baseline) and a short training on digit scenes that must learn.
// Its gradients against finite differences are in gradient.test.ts.

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';
import { createModelConfig, digitScenes, readCsvClassification, WordTokenizer, DIGIT_WORDS, type ImageCaptionerConfig } from '@attend/core';
import { setupBackend } from '../../backend.js';
import { captionTask } from '../../caption-task.js';
import { createModel } from '../../models.js';
import { batchLoss, train } from '../../trainer.js';
import { CaptionerModel, doublyStochasticPenalty, imageWindows, MovingBaseline, reinforceSurrogate, setHardInference } from './model.js';

const DIGITS = fileURLToPath(new URL('../../../../../../shared/data/digits8x8.csv', import.meta.url));

afterEach(() => {
  tf.disposeVariables();
});

const tiny = (fields: Partial<ImageCaptionerConfig> = {}): ImageCaptionerConfig =>
  createModelConfig({ preset: 'image-captioner', vocabSize: 9, dModel: 8, featureSize: 6, imageHeight: 4, imageWidth: 6, patchSize: 2, patchStride: 2, dropout: 0, ...fields });

describe('imageWindows', () => {
  it('reads the windows of a strided convolution, locations and pixels row-major', () => {
    // 3 × 4 image of values 0..11, kernel 2, stride 1 on a 2 × 3 grid.
    const pixels = Float32Array.from({ length: 12 }, (_, i) => i);
    const w = imageWindows(pixels, 1, { imageHeight: 3, imageWidth: 4, patchSize: 2, patchStride: 1 });
    expect(Array.from(w.subarray(0, 4))).toEqual([0, 1, 4, 5]);
    expect(Array.from(w.subarray(4, 8))).toEqual([1, 2, 5, 6]);
    expect(Array.from(w.subarray(12, 16))).toEqual([4, 5, 8, 9]); // second grid row
    expect(w.length).toBe(6 * 4);
  });
});

describe('soft attention', () => {
  it('the weights sum to 1 over the L locations and the context is β times their weighted sum', async () => {
    await setupBackend(['cpu']);
    const model = new CaptionerModel(tiny(), { seed: 3 });
    const pixels = Float32Array.from({ length: 2 * 24 }, (_, i) => Math.sin(i));
    const features = model.encode({ ids: new Int32Array(0), batchSize: 2, seqLen: 6, pixels });
    const h = tf.randomNormal([2, 8], 0, 1, 'float32', 5) as tf.Tensor2D;
    const alpha = model.attentionWeights(model.projectedFeatures(features), h);
    const a = alpha.arraySync();
    for (const row of a) expect(row.reduce((x, y) => x + y, 0)).toBeCloseTo(1, 6);
    expect(new Set(a[0]!.map((x) => x.toFixed(4))).size).toBeGreaterThan(1); // not uniform
    const z = model.softContext(features, alpha, h).arraySync();
    const f = features.arraySync();
    const gate = model.namedParams().filter((p) => p.name.startsWith('decoder.attention.gate.'));
    const [w, b] = gate.map((p) => p.variable.dataSync());
    const hv = h.arraySync();
    for (let r = 0; r < 2; r++) {
      const beta = 1 / (1 + Math.exp(-(hv[r]!.reduce((s, x, i) => s + x * w![i]!, 0) + b![0]!)));
      for (let k = 0; k < 6; k++) expect(z[r]![k]!).toBeCloseTo(beta * a[r]!.reduce((s, x, i) => s + x * f[r]![i]![k]!, 0), 5);
    }
  });
});

describe("hard attention's expectation at test time (Xu et al. §4.1)", () => {
  it('reads z = Σ α a: the logits of a soft model with the same weights and β = 1; the arg-max reads one location', async () => {
    await setupBackend(['cpu']);
    const hard = new CaptionerModel(tiny({ visualAttention: 'hard' }), { seed: 4 });
    const soft = new CaptionerModel(tiny({ visualAttention: 'soft' }), { seed: 9 });
    const weights = new Map(hard.namedParams().map((p) => [p.name, p.variable]));
    for (const p of soft.namedParams()) {
      const w = weights.get(p.name);
      if (w) p.variable.assign(w);
      // The gate β = σ(0·h + 30) = 1 (to float precision).
      else p.variable.assign(p.name.endsWith('bias') ? tf.fill(p.variable.shape, 30) : tf.zerosLike(p.variable));
    }
    const pixels = Float32Array.from({ length: 2 * 24 }, (_, i) => Math.cos(i));
    const input = { ids: new Int32Array(0), batchSize: 2, seqLen: 6, pixels };
    const target = { ids: Int32Array.of(1, 5, 6, 1, 7, 4), batchSize: 2, seqLen: 3 };
    const logits = (m: CaptionerModel) => m.forward(input, target).logits.dataSync() as Float32Array;
    const argmax = logits(hard);
    hard.hardInference = 'expectation';
    const expectation = logits(hard);
    const want = logits(soft);
    expect(Math.max(...expectation.map((x, i) => Math.abs(x - want[i]!)))).toBeLessThan(1e-5);
    expect(Math.max(...argmax.map((x, i) => Math.abs(x - want[i]!)))).toBeGreaterThan(1e-3);
    // The evaluation loss (not training) reads the same way.
    const batch = { input, target, labels: Int32Array.of(5, 6, 2, 7, 4, 2) };
    const evalLoss = (m: CaptionerModel) => m.trainingLoss(batch, { training: false, step: 0, labelSmoothing: 0 }).dataSync()[0]!;
    const expectationLoss = evalLoss(hard);
    hard.hardInference = 'argmax';
    expect(Math.abs(evalLoss(hard) - expectationLoss)).toBeGreaterThan(1e-4);
  });

  it('setHardInference sets it on a hard captioner and refuses any other model in one line', () => {
    const hard = new CaptionerModel(tiny({ visualAttention: 'hard' }), { seed: 4 });
    setHardInference(hard, 'expectation');
    expect(hard.hardInference).toBe('expectation');
    const soft = new CaptionerModel(tiny({ visualAttention: 'soft' }), { seed: 4 });
    expect(() => setHardInference(soft, 'expectation')).toThrow(/^hardInference: expectation needs an image-captioner with hard attention; this one has soft attention$/);
    expect(soft.hardInference).toBe('argmax');
    hard.dispose();
    soft.dispose();
  });
});

describe('the training objectives on hand cases', () => {
  it('the doubly stochastic penalty is λ Σ_i (1 − Σ_t α_ti)² over counted words, averaged over rows', () => {
    // Row 0: two words on locations 0 and 1 of 3 → Σ_t α = [1, 1, 0] → penalty 1.
    // Row 1: one counted word spread evenly (its second word is padding) → (2/3)² · 3 = 4/3.
    const alphas = tf.tensor3d([[[1, 0, 0], [0, 1, 0]], [[1 / 3, 1 / 3, 1 / 3], [1, 0, 0]]]);
    const mask = tf.tensor2d([[1, 1], [1, 0]]);
    expect(doublyStochasticPenalty(alphas, mask, 0.5).dataSync()[0]).toBeCloseTo(0.5 * (1 + 4 / 3) / 2, 6);
  });

  it('REINFORCE: a choice whose reward beats the baseline is made more likely by a descent step, a worse one less', () => {
    const logLikelihood = tf.tensor1d([-1, -3]);
    const entropy = tf.tensor1d([0.5, 0.5]);
    const logProbChosen = tf.variable(tf.tensor1d([-2, -2]));
    // Baseline −2: row 0 is 1 better, row 1 is 1 worse.
    const grads = tf.grads((lp: tf.Tensor) => reinforceSurrogate(logLikelihood, lp as tf.Tensor1D, entropy, Float32Array.from([1, -1]), 0.1));
    const [g] = grads([logProbChosen]);
    // d(surrogate)/d log p(s̃) = −(R − b)/B: negative for the good choice (descent raises it).
    expect(Array.from(g!.dataSync())).toEqual([-0.5, 0.5]);
    const value = reinforceSurrogate(logLikelihood, logProbChosen, entropy, Float32Array.from([1, -1]), 0.1).dataSync()[0]!;
    expect(value).toBeCloseTo(-((-1 - 2 + 0.05) + (-3 + 2 + 0.05)) / 2, 6);
  });

  it('the moving-average baseline starts at the first reward and then decays toward the new ones', () => {
    const b = new MovingBaseline(0.9);
    b.update(-2);
    expect(b.value).toBe(-2);
    b.update(-1);
    expect(b.value).toBeCloseTo(-1.9, 10);
  });

  it('hard attention: the training loss samples its locations from the step (the same step, the same loss) and moves the baseline', async () => {
    await setupBackend(['cpu']);
    const config = tiny({ visualAttention: 'hard' });
    const model = createModel(config, { seed: 1 }) as CaptionerModel;
    const pixels = Float32Array.from({ length: 2 * 24 }, (_, i) => (i % 5) / 5);
    const batch = {
      input: { ids: new Int32Array(0), batchSize: 2, seqLen: 6, pixels },
      target: { ids: Int32Array.from([1, 4, 5, 1, 6, 0]), batchSize: 2, seqLen: 3 },
      labels: Int32Array.from([4, 5, 2, 6, 2, 0]),
      labelWeights: Float32Array.from([1, 1, 1, 1, 1, 0]),
    };
    const at = (step: number) => tf.tidy(() => batchLoss(model, batch, { training: true, step }).dataSync()[0]!);
    const first = at(7);
    expect(model.baseline.value).toBeDefined();
    const afterOne = model.baseline.value!;
    model.baseline.value = undefined;
    expect(at(7)).toBeCloseTo(first, 6);
    expect(model.baseline.value).toBeCloseTo(afterOne, 6);
    // Evaluating is the words' cross-entropy at the arg-max locations: positive, no baseline change.
    const evalLoss = tf.tidy(() => batchLoss(model, batch).dataSync()[0]!);
    expect(evalLoss).toBeGreaterThan(0);
    expect(model.baseline.value).toBeCloseTo(afterOne, 6);
  });
});

describe.skipIf(!existsSync(DIGITS))('a short training on digit scenes', () => {
  it.each(['soft', 'hard'] as const)('%s attention: the loss falls and single-digit scenes are captioned well above chance', async (visualAttention) => {
    await setupBackend(['wasm', 'cpu']);
    const rows = await readCsvClassification(DIGITS);
    const shape = { height: 12, width: 24, minDigits: 1, maxDigits: 1 };
    const toImages = (scenes: ReturnType<typeof digitScenes>) => scenes.map((s) => ({ pixels: s.pixels, caption: s.caption }));
    const trainImages = toImages(digitScenes(rows.slice(0, 1400), { count: 2000, seed: 1, ...shape }));
    const testImages = toImages(digitScenes(rows.slice(1400), { count: 200, seed: 2, ...shape }));
    const tokenizer = WordTokenizer.fromCorpus(DIGIT_WORDS.slice());
    const config = createModelConfig({ preset: 'image-captioner', vocabSize: tokenizer.vocabSize, dModel: 32, featureSize: 32, imageHeight: 12, imageWidth: 24, maxSeqLen: 4, dropout: 0, visualAttention });
    const model = createModel(config, { seed: 1 });
    const task = captionTask(trainImages, testImages, tokenizer, config, { batchSize: 32, seed: 1 });
    const before = await task.evaluate(model);
    await train(model, task.nextBatch, { steps: 400, learningRate: 3e-3, logEvery: 1000 });
    const after = await task.evaluate(model);
    expect(after.loss).toBeLessThan(before.loss - 1);
    // Chance is 1 in 10 (and the untrained model says one word for every image).
    expect(after.exactMatch).toBeGreaterThan(0.25);
  }, 300_000);
});
