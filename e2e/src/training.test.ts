// End-to-end learning checks: small models trained from scratch on the built-in synthetic
// tasks must reach ≥ 99% exact match on held-out data. Seeded, so a pass is reproducible;
// each run stops as soon as the target is reached.

import { beforeAll, describe, expect, it } from 'vitest';
import { CharTokenizer, copyTask, createModelConfig, trainDevSplit } from '@attend/core';
import { runDateExperiment, seq2seqTask, setupBackend, train, TransformerModel } from '@attend/transformer';

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
