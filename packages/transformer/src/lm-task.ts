// A language-modelling task ready for the trainer, over one token stream as in nanoGPT: each
// step's batch is windows at random offsets drawn from a seed and the step (so a resumed run
// sees the same data), and evaluation is the mean loss over fixed dev windows.

import { createRng, lmWindows, perplexity, sampleLmBatch, stackLmWindows } from '@attend/core';
import type { AttendModel } from './models.js';
import { batchLoss, evalChunks, lmTrainBatch, type TrainBatch } from './trainer.js';

export interface LmTaskOptions {
  batchSize: number;
  /** Input tokens per window (T). */
  contextLength: number;
  /** Seed of the window offsets. */
  seed: number;
  /** Dev windows evaluated at most; default 64. */
  maxEvalWindows?: number;
}

export interface LmTask {
  nextBatch(step: number): TrainBatch;
  /**
   * Mean next-token loss over the dev windows, and its perplexity, at most `batchSize` windows
   * per forward pass (default: the training batch size). Every window counts the same number of
   * labels, so the mean is the same however the windows are split; a smaller split keeps fewer
   * activations alive (a run whose step is split into micro-batches evaluates in as many rows).
   */
  evaluate(model: AttendModel, batchSize?: number): Promise<{ loss: number; perplexity: number }>;
}

export function lmTask(train: Int32Array, dev: Int32Array, options: LmTaskOptions): LmTask {
  const T = options.contextLength;
  const windows = lmWindows(dev, { contextLength: T }).slice(0, options.maxEvalWindows ?? 64);
  return {
    nextBatch(step) {
      const rng = createRng(options.seed * 1_000_003 + step);
      return lmTrainBatch(sampleLmBatch(train, { batchSize: options.batchSize, contextLength: T, rng }));
    },
    async evaluate(model, batchSize = options.batchSize) {
      let total = 0;
      for (const [start, end] of evalChunks(windows.length, batchSize)) {
        const chunk = windows.slice(start, end);
        const loss = batchLoss(model, lmTrainBatch(stackLmWindows(chunk)));
        total += (await loss.data())[0]! * chunk.length;
        loss.dispose();
      }
      const loss = total / windows.length;
      return { loss, perplexity: perplexity(loss) };
    },
  };
}
