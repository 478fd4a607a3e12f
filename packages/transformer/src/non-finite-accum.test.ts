// A non-finite loss in one micro-batch of a step (gradient accumulation, on one thread and in
// data-parallel workers) stops training with the same one-line error as a non-finite loss without
// accumulation, before the step's update: the other micro-batches' finite losses do not hide it.
// The poison is data: one row of step 3 has a NaN or infinite pixel, in the last micro-batch of
// every split below. The workers run the package's build (dist/): `npx tsc -p tsconfig.build.json`.

import { createModelConfig, createRng } from '@attend/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { setupBackend } from './backend.js';
import { createModel } from './models.js';
import { train, TrainingError, type TrainBatch, type TrainerOptions } from './trainer.js';

const B = 8;
const SIZE = 4;
const POISONED_STEP = 3;
/** Row 7: in the last micro-batch of 4 (rows 6–7), and of worker 2's 2 micro-batches (rows 6–7). */
const POISONED_ROW = 7;

const config = createModelConfig({ preset: 'canvas-classifier', numClasses: 3, imageSize: SIZE, numChannels: 1, pixelScale: 1, dModel: 8, numHiddenLayers: 1, dropout: 0 });

/** Step `step`'s batch of random images; at `POISONED_STEP` one pixel of `POISONED_ROW` is `poison`. */
const batches =
  (poison: number | undefined) =>
  (step: number): TrainBatch => {
    const rng = createRng(step);
    const pixels = Float32Array.from({ length: B * SIZE * SIZE }, () => rng.normal());
    const labels = Int32Array.from({ length: B }, () => rng.int(3));
    if (poison !== undefined && step === POISONED_STEP) pixels[POISONED_ROW * SIZE * SIZE + 5] = poison;
    return { input: { ids: new Int32Array(0), batchSize: B, seqLen: 1, pixels }, labels };
  };

/** Trains a seed-3 model for `steps` on `poison`'s batches: the error it stopped with (if any), the losses and the final weights. */
async function run(poison: number | undefined, options: Partial<TrainerOptions> & { steps: number }): Promise<{ error?: Error; losses: number[]; weights: Float32Array[] }> {
  const model = createModel(config, { seed: 3 });
  const losses: number[] = [];
  const error = await train(model, batches(poison), { learningRate: 1e-2, logEvery: 1, ...options, onProgress: (e) => e.type === 'step' && losses.push(e.loss) }).then(
    () => undefined,
    (e: Error) => e,
  );
  const weights = model.namedParams().map((p) => Float32Array.from(p.variable.dataSync() as Float32Array));
  model.dispose();
  return { ...(error ? { error } : {}), losses, weights };
}

beforeAll(async () => {
  await setupBackend();
});

const SPLITS = [
  { label: 'one batch', options: {} },
  { label: 'gradAccum 4', options: { gradAccum: 4 } },
  { label: '2 workers, gradAccum 2 each', options: { workers: 2, gradAccum: 2 } },
] as const;

describe('a non-finite loss in one micro-batch', () => {
  /** Each split's clean run up to the step before the poisoned one. */
  const clean: Awaited<ReturnType<typeof run>>[] = [];
  beforeAll(async () => {
    for (const { options } of SPLITS) clean.push(await run(undefined, { steps: POISONED_STEP - 1, ...options }));
  }, 120_000);

  it.each([
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
  ])('(a %s pixel) stops every split at that step with the same error, before its update', async (_, poison) => {
    const messages: string[] = [];
    for (const [i, { label, options }] of SPLITS.entries()) {
      const poisoned = await run(poison, { steps: 5, ...options });
      expect(poisoned.error, label).toBeInstanceOf(TrainingError);
      messages.push(poisoned.error!.message);
      // The steps before went as in a clean run, and the poisoned step's update was not applied.
      expect(poisoned.losses, label).toEqual(clean[i]!.losses);
      poisoned.weights.forEach((w, j) => expect(w, label).toEqual(clean[i]!.weights[j]));
    }
    expect(messages[0]).toMatch(/^loss is (NaN|-?Infinity) at step 3; stopped before applying that update \(no checkpoint was written yet\)\. [^\n]+$/);
    expect(messages).toEqual(SPLITS.map(() => messages[0]));
  }, 120_000);
});
