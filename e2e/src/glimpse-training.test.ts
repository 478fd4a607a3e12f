// The recurrent attention model (glimpse-classifier) learns where to look: trained from scratch
// by its hybrid loss (cross-entropy + REINFORCE with a learned baseline) on cluttered,
// translated digits of ../shared/data (train and test canvases from disjoint rows of the
// digits file), its deterministic held-out accuracy rises well above chance (10%), and so does
// the mean reward at the sampled locations. Skipped when the digits file is absent. Seeded.

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { clutteredDigits, createModelConfig, createRng, readCsvClassification, trainDevSplit, type ClutteredDigit } from '@attend/core';
import { createModel, imageTrainBatch, setupBackend, train, type GlimpseModel } from '@attend/transformer';

const repoRoot = new URL('../../', import.meta.url);
const digitsPath = fileURLToPath(new URL('../shared/data/digits8x8.csv', repoRoot));

beforeAll(async () => {
  await setupBackend();
});

describe('glimpse-classifier learns', () => {
  it.skipIf(!existsSync(digitsPath))('classifies held-out cluttered 16×16 canvases well above chance after 300 steps', async () => {
    const rows = await readCsvClassification(digitsPath);
    const { train: trainRows, dev: testRows } = trainDevSplit(rows, { devFraction: 300 / rows.length, seed: 7 });
    const canvas = { size: 16, clutter: 1 };
    const trainCanvases = clutteredDigits(trainRows, { count: 4000, seed: 1, ...canvas });
    const testCanvases = clutteredDigits(testRows, { count: 400, seed: 2, ...canvas });
    const config = createModelConfig({ preset: 'glimpse-classifier', numClasses: 10, imageSize: 16, numGlimpses: 4, maxSeqLen: 4, numScales: 2, locationStd: 0.15 });
    const batchOf = (cs: readonly ClutteredDigit[]) => imageTrainBatch(Float32Array.from(cs.flatMap((c) => Array.from(c.pixels))), Int32Array.from(cs, (c) => c.label), config);
    const model = createModel(config, { seed: 7 }) as GlimpseModel;
    const rng = createRng(7);
    const steps = 300;
    const rewards: number[] = [];
    await train(model, () => batchOf(Array.from({ length: 32 }, () => trainCanvases[rng.int(trainCanvases.length)]!)), {
      steps,
      learningRate: 3e-3,
      schedule: { kind: 'cosine', warmupSteps: 20, totalSteps: steps, minLr: 3e-4 },
      evalEvery: 150,
      evaluate: () => ({ reward: model.takeReward()! }),
      onProgress: (e) => e.type === 'eval' && rewards.push(e.metrics.reward!),
    });
    const test = batchOf(testCanvases);
    const predictions = tf.tidy(() => model.forward(test.input).logits.argMax(-1).dataSync());
    const accuracy = testCanvases.filter((c, i) => predictions[i] === c.label).length / testCanvases.length;
    model.dispose();
    expect(accuracy).toBeGreaterThanOrEqual(0.2);
    expect(rewards[rewards.length - 1]).toBeGreaterThan(rewards[0]!);
  }, 600_000);
});
