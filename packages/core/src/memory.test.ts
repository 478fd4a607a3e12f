import { describe, expect, it } from 'vitest';
import { createModelConfig, type ModelConfigInput } from './config.js';
import { largestBatchThatFits, parameterEstimate, trainingMemory, TRAINING_MEMORY_BUDGET } from './memory.js';
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
