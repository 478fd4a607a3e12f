import { describe, expect, it } from 'vitest';
import { createModelConfig, type ModelConfigInput } from './config.js';
import { batchLengths, formatGiB, largestBatchThatFits, memoryFit, parameterEstimate, trainingBudget, trainingMemory, TRAINING_MEMORY_BUDGET } from './memory.js';
import type { ModelConfig } from './models/registry.js';

const common = { vocabSize: 65, dModel: 128, maxSeqLen: 256, dropout: 0 };
const CONFIGS: ModelConfig[] = [
  createModelConfig({ preset: 'decoder-lm', ...common, numHeads: 4, numDecoderLayers: 4 } as ModelConfigInput),
  createModelConfig({ preset: 'encoder-decoder', ...common, numHeads: 4 } as ModelConfigInput),
  createModelConfig({ preset: 'encoder-classifier', ...common, numHeads: 4, numClasses: 3 } as ModelConfigInput),
  createModelConfig({ preset: 'rnn-seq2seq', ...common } as ModelConfigInput),
  createModelConfig({ preset: 'vit-classifier', dModel: 64, numHeads: 4, numClasses: 10, imageSize: 8, patchSize: 2 } as ModelConfigInput),
];
const lengths = (c: ModelConfig) => (c.preset === 'vit-classifier' ? { context: 17, source: 17 } : { context: 128, source: 96 });

describe('trainingMemory', () => {
  it('every kind: the batch largestBatchThatFits names fits the budget and one more does not', () => {
    for (const config of CONFIGS) {
      for (const budget of [TRAINING_MEMORY_BUDGET, 2 ** 30, 2 ** 28]) {
        const fits = largestBatchThatFits(config, lengths(config), budget);
        expect(fits, config.preset).toBeGreaterThan(0);
        expect(trainingMemory(config, { ...lengths(config), batchSize: fits }).bytes).toBeLessThanOrEqual(budget);
        expect(trainingMemory(config, { ...lengths(config), batchSize: fits + 1 }).bytes).toBeGreaterThan(budget);
      }
    }
  });

  it('activations grow with the batch linearly and with a Transformer context faster than linearly (attention scores)', () => {
    const lm = CONFIGS[0]!;
    const at = (batchSize: number, context: number) => trainingMemory(lm, { batchSize, context, source: context });
    expect(at(8, 128).bytes - at(4, 128).bytes).toBeCloseTo(2 * (at(4, 128).bytes - at(2, 128).bytes), 0);
    expect(at(1, 256).activationsPerExample).toBeGreaterThan(2 * at(1, 128).activationsPerExample);
    // The logits term: a larger vocabulary needs more per example.
    const wide = createModelConfig({ ...lm, vocabSize: 50_000 } as ModelConfigInput);
    expect(trainingMemory(wide, { batchSize: 1, context: 128, source: 128 }).activationsPerExample).toBeGreaterThan(3 * 128 * 50_000);
  });

  it('parameters: the decoder-lm matrices (12·d²·L) and the tied embedding (V·d), within 1%', () => {
    const lm = CONFIGS[0]!;
    const expected = 12 * 128 * 128 * 4 + 65 * 128;
    expect(Math.abs(parameterEstimate(lm) - expected) / expected).toBeLessThan(0.01);
  });

  it('a model larger than the budget fits no batch; lengths must be positive integers', () => {
    const huge = createModelConfig({ preset: 'decoder-lm', vocabSize: 65, dModel: 4096, numHeads: 8, numDecoderLayers: 8, maxSeqLen: 64 } as ModelConfigInput);
    expect(largestBatchThatFits(huge, { context: 64, source: 64 }, TRAINING_MEMORY_BUDGET)).toBe(0);
    expect(() => trainingMemory(CONFIGS[0]!, { batchSize: 0, context: 64, source: 64 })).toThrow('batchSize: must be an integer >= 1, got 0');
  });
});

describe('memoryFit', () => {
  const lm = CONFIGS[0]!;
  const at = { context: 128, source: 128 };
  const bytes = (rows: number) => trainingMemory(lm, { ...at, batchSize: rows }).bytes;
  // Between the estimates of 5 and 6 rows: micro-batches of at most 5 fit.
  const budget = (bytes(5) + bytes(6)) / 2;

  it('estimates the largest micro-batch of the largest share, and names the fewest micro-batches and the largest batch that fit', () => {
    expect(memoryFit(lm, at, { batchSize: 5, gradAccum: 1, budget })).toMatchObject({ fits: true, share: 5, microBatch: 5, bytes: bytes(5) });
    expect(memoryFit(lm, at, { batchSize: 64, gradAccum: 1, budget })).toMatchObject({ fits: false, microBatch: 64, bytes: bytes(64), largestMicroBatch: 5, gradAccum: 13, batchSize: 5 });
    // 64 rows in 12 micro-batches: the largest has 6 rows (the trainer's split), over the budget.
    expect(memoryFit(lm, at, { batchSize: 64, gradAccum: 12, budget })).toMatchObject({ fits: false, microBatch: 6, gradAccum: 13, batchSize: 60 });
    expect(memoryFit(lm, at, { batchSize: 64, gradAccum: 13, budget })).toMatchObject({ fits: true, microBatch: 5 });
  });

  it('with workers each heap holds one share: 65 rows on 2 workers is 33 rows a heap', () => {
    expect(memoryFit(lm, at, { batchSize: 65, gradAccum: 1, workers: 2, budget })).toMatchObject({ fits: false, share: 33, microBatch: 33, bytes: bytes(33), gradAccum: 7, batchSize: 10 });
    expect(memoryFit(lm, at, { batchSize: 65, gradAccum: 7, workers: 2, budget })).toMatchObject({ fits: true, microBatch: 5 });
    expect(memoryFit(lm, at, { batchSize: 10, gradAccum: 1, workers: 2, budget }).fits).toBe(true);
  });

  it('not even one example: no gradAccum and no batch fit', () => {
    const fit = memoryFit(lm, at, { batchSize: 8, gradAccum: 1, budget: bytes(1) - 1 });
    expect(fit).toMatchObject({ fits: false, largestMicroBatch: 0, gradAccum: 0, batchSize: 0 });
    expect(fit.oneExample.bytes).toBe(bytes(1));
  });

  it("batchLengths: queries attend over the decoder's sequence, cross-attention reads the encoder's", () => {
    expect(batchLengths({ input: 64 })).toEqual({ context: 64, source: 64 });
    expect(batchLengths({ input: 12, target: 9 })).toEqual({ context: 9, source: 12 });
  });

  it('trainingBudget: the wasm heap less 10%, or a lower limit; no bound elsewhere unless a limit is given', () => {
    expect(trainingBudget('wasm')).toBe(TRAINING_MEMORY_BUDGET);
    expect(trainingBudget('wasm', 2 ** 30)).toBe(2 ** 30);
    expect(trainingBudget('wasm', 2 ** 40)).toBe(TRAINING_MEMORY_BUDGET);
    expect(trainingBudget('cpu')).toBe(Infinity);
    expect(trainingBudget('webgpu', 2 ** 30)).toBe(2 ** 30);
  });

  it('formatGiB', () => {
    expect([formatGiB(9.1 * 2 ** 30), formatGiB(0.05 * 2 ** 30), formatGiB(2 ** 20)]).toEqual(['9.1 GiB', '0.05 GiB', '1.0 MiB']);
  });
});
