// End-to-end learning checks: small models trained from scratch on the built-in synthetic
// tasks must reach ≥ 99% exact match on held-out data (the GRU encoder–decoder ≥ 95% on the
// reverse task), and the vision Transformer ≥ 85% accuracy on held-out 8×8 digits from
// ../shared/data (skipped when the file is absent). Seeded, so a pass is reproducible; the
// seq2seq runs stop as soon as the target is reached.

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { CharTokenizer, copyTask, createModelConfig, createRng, readCsvClassification, reverseTask, trainDevSplit } from '@attend/core';
import { createModel, imageTrainBatch, runDateExperiment, seq2seqTask, setupBackend, train, TransformerModel } from '@attend/transformer';

// This file is e2e/src/training.test.ts; the repo root is two levels up and the shared data
// sits beside it, at ../shared/data.
const repoRoot = new URL('../../', import.meta.url);
const digitsPath = fileURLToPath(new URL('../shared/data/digits8x8.csv', repoRoot));

beforeAll(async () => {
  await setupBackend();
});

describe('training from scratch', () => {
  it('learns the copy task to ≥ 99% dev exact match', async () => {
    const pairs = copyTask({ count: 6000, seed: 3, minLength: 3, maxLength: 10 });
    const { train: trainPairs, dev } = trainDevSplit(pairs, { devFraction: 300 / 6000, seed: 3, key: (p) => p.source });
    const tokenizer = CharTokenizer.fromCorpus(pairs.map((p) => p.source));
    const config = createModelConfig({
      preset: 'encoder-decoder', vocabSize: tokenizer.vocabSize, dModel: 64, numHeads: 4,
      numEncoderLayers: 1, numDecoderLayers: 1, dFf: 256, maxSeqLen: 16, dropout: 0,
    });
    const task = seq2seqTask(trainPairs, dev, tokenizer, { batchSize: 64, seed: 3, maxSrcLen: 10, maxTgtLen: 10 });
    const model = new TransformerModel(config, { seed: 3 });
    const result = await train(model, task.nextBatch, {
      steps: 600,
      learningRate: 3e-3,
      schedule: { kind: 'cosine', warmupSteps: 50, totalSteps: 600, minLr: 1e-4 },
      evalEvery: 50,
      evaluate: async (m) => ({ exactMatch: (await task.evaluate(m)).exactMatch }),
      earlyStopping: { metric: 'exactMatch', mode: 'max', target: 0.99 },
    });
    const { exactMatch } = await task.evaluate(model);
    model.dispose();
    expect(result.reason).toBe('target-reached');
    expect(exactMatch).toBeGreaterThanOrEqual(0.99);
  }, 240_000);

  it('learns date normalisation to ≥ 99% dev exact match', async () => {
    const r = await runDateExperiment({ seed: 1, devSize: 300, targetExactMatch: 0.99 });
    r.model.dispose();
    expect(r.reason).toBe('target-reached');
    expect(r.exactMatch).toBeGreaterThanOrEqual(0.99);
    expect(r.samples.length).toBeGreaterThan(0);
  }, 300_000);
});

describe('rnn-seq2seq learns', () => {
  it('the reverse task to ≥ 95% dev exact match (GRU, general attention with input feeding)', async () => {
    const pairs = reverseTask({ count: 6000, seed: 5, minLength: 3, maxLength: 6, alphabet: 'abcdefghij' });
    const { train: trainPairs, dev } = trainDevSplit(pairs, { devFraction: 200 / 6000, seed: 5, key: (p) => p.source });
    const tokenizer = CharTokenizer.fromCorpus(pairs.map((p) => p.source));
    const c = createModelConfig({ preset: 'rnn-seq2seq', vocabSize: tokenizer.vocabSize, dModel: 48, maxSeqLen: 16, dropout: 0, rnnAttention: 'general' });
    const task = seq2seqTask(trainPairs, dev, tokenizer, { batchSize: 32, seed: 5, maxSrcLen: 6, maxTgtLen: 6 });
    const model = createModel(c, { seed: 5 });
    const result = await train(model, task.nextBatch, {
      steps: 800,
      learningRate: 1e-2,
      clipNorm: 5,
      schedule: { kind: 'cosine', warmupSteps: 20, totalSteps: 800, minLr: 1e-3 },
      evalEvery: 50,
      evaluate: async (m) => ({ exactMatch: (await task.evaluate(m)).exactMatch }),
      earlyStopping: { metric: 'exactMatch', mode: 'max', target: 0.95 },
    });
    const { exactMatch } = await task.evaluate(model);
    model.dispose();
    expect(result.reason).toBe('target-reached');
    expect(exactMatch).toBeGreaterThanOrEqual(0.95);
  }, 180_000);
});

describe('vit-classifier learns', () => {
  it.skipIf(!existsSync(digitsPath))('classifies held-out 8×8 digits (fixed-seed 300-image split) with ≥ 85% accuracy', async () => {
    const rows = await readCsvClassification(digitsPath);
    expect(rows).toHaveLength(1797);
    const { train: trainRows, dev: testRows } = trainDevSplit(rows, { devFraction: 300 / 1797, seed: 7 });
    const config = createModelConfig({ preset: 'vit-classifier', numClasses: 10, dModel: 32, numHeads: 4, numEncoderLayers: 2, dFf: 64, dropout: 0 });
    const images = (rs: typeof rows): Float32Array => Float32Array.from(rs.flatMap((r) => r.features.map((x) => x / 16)));
    const rng = createRng(7);
    const batchSize = 64;
    const model = createModel(config, { seed: 7 });
    await train(model, () => {
      const pick = Array.from({ length: batchSize }, () => trainRows[rng.int(trainRows.length)]!);
      return imageTrainBatch(images(pick), Int32Array.from(pick, (r) => r.label), config);
    }, { steps: 400, learningRate: 3e-3, schedule: { kind: 'cosine', warmupSteps: 20, totalSteps: 400, minLr: 3e-4 } });
    const logits = tf.tidy(() => model.forward(imageTrainBatch(images(testRows), Int32Array.from(testRows, (r) => r.label), config).input).logits.argMax(-1).dataSync());
    const accuracy = testRows.filter((r, i) => logits[i] === r.label).length / testRows.length;
    model.dispose();
    expect(accuracy).toBeGreaterThanOrEqual(0.85);
  }, 120_000);
});
