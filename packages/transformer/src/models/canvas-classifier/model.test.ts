// The canvas- and stn-classifier learn: a short training on 12 × 12 canvases of one translated
// digit (core's clutteredDigits over ../shared/data/digits8x8.csv; skipped without it) lowers
// the loss and classifies held-out canvases — of digit rows never trained on — above chance.

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { clutteredDigits, createModelConfig, readCsvClassification, trainDevSplit, type ClutteredDigit, type ImageClassifierConfig } from '@attend/core';
import { setupBackend } from '../../backend.js';
import { classify, imageTrainBatch } from '../../classification-task.js';
import { createModel } from '../../models.js';
import { train } from '../../trainer.js';

const DIGITS = fileURLToPath(new URL('../../../../../../shared/data/digits8x8.csv', import.meta.url));
const S = 12;

const pixelsOf = (set: readonly ClutteredDigit[]): Float32Array => {
  const out = new Float32Array(set.length * S * S);
  set.forEach((c, i) => out.set(c.pixels, i * S * S));
  return out;
};

describe.skipIf(!existsSync(DIGITS))('canvas- and stn-classifier training', () => {
  let trainSet: ClutteredDigit[];
  let testSet: ClutteredDigit[];
  beforeAll(async () => {
    await setupBackend();
    const { train: rows, dev } = trainDevSplit(await readCsvClassification(DIGITS), { devFraction: 0.2, seed: 1 });
    trainSet = clutteredDigits(rows, { count: 150 * 32, seed: 2, size: S });
    testSet = clutteredDigits(dev, { count: 300, seed: 3, size: S });
  });

  const fields = { numClasses: 10, imageSize: S, numChannels: 1, pixelScale: 1, dropout: 0, maxSeqLen: 1, dModel: 64, numHiddenLayers: 1 };
  it.each([
    ['canvas-classifier', createModelConfig({ preset: 'canvas-classifier', ...fields })],
    ['stn-classifier', createModelConfig({ preset: 'stn-classifier', ...fields, outputSize: 8, locHiddenSize: 16 })],
  ] as [string, ImageClassifierConfig][])('%s: loss falls, held-out accuracy above chance', async (_name, config) => {
    const model = createModel(config, { seed: 4 });
    const { state } = await train(model, (step) => {
      const rows = trainSet.slice((step - 1) * 32, step * 32);
      return imageTrainBatch(pixelsOf(rows), Int32Array.from(rows, (c) => c.label), config);
    }, { steps: 150, learningRate: 3e-3, logEvery: 10 });
    const losses = state.losses.map((l) => l.loss);
    expect(losses.slice(-3).reduce((a, b) => a + b) / 3).toBeLessThan(0.8 * losses[0]!);
    const predicted = await classify(model, imageTrainBatch(pixelsOf(testSet), new Int32Array(testSet.length), config).input);
    const accuracy = predicted.filter((p, i) => p.label === testSet[i]!.label).length / testSet.length;
    expect(accuracy).toBeGreaterThan(0.3); // chance: 0.1
    model.dispose();
  }, 120_000);
});
