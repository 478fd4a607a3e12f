// Data-parallel workers (data-parallel.ts) against the one-thread trainer. The workers run the
// package's build (dist/), so these tests need `npx tsc -p tsconfig.build.json` first.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { createModelConfig, createRng } from '@attend/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { setupBackend } from './backend.js';
import { GradientWorkers } from './data-parallel.js';
import { createModel } from './models.js';
import { AdamW } from './optimizer.js';
import { lmTrainBatch, microBatches, train, type TrainBatch, type TrainerOptions } from './trainer.js';

const V = 11;
const T = 8;
const B = 7; // split 3 + 4 between two workers: shares of unequal size

const config = createModelConfig({ preset: 'decoder-lm', vocabSize: V, dModel: 16, numHeads: 2, numDecoderLayers: 1, dFf: 32, maxSeqLen: T, dropout: 0 });

/** A batch of right-padded rows of random lengths (unequal counted labels per row), pure in the step. */
function batch(step: number): TrainBatch {
  const rng = createRng(step);
  const inputIds = new Int32Array(B * T);
  const labels = new Int32Array(B * T);
  const lengths = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    lengths[b] = 1 + Math.floor(rng.next() * T);
    for (let t = 0; t < lengths[b]!; t++) {
      // A learnable rule: the next token is the current one plus one.
      inputIds[b * T + t] = Math.floor(rng.next() * V);
      labels[b * T + t] = (inputIds[b * T + t]! + 1) % V;
    }
  }
  return lmTrainBatch({ batchSize: B, seqLen: T, inputIds, labels, lengths });
}

/** Loss and gradient norm of every step, and the final weights. */
async function lossCurve(options: Partial<TrainerOptions> & { steps: number; nextBatch?: (step: number) => TrainBatch }): Promise<{ losses: number[]; norms: number[]; weights: Float32Array[] }> {
  const model = createModel(config, { seed: 3 });
  const losses: number[] = [];
  const norms: number[] = [];
  const onProgress: TrainerOptions['onProgress'] = (e) => {
    if (e.type !== 'step') return;
    losses.push(e.loss);
    norms.push(e.gradNorm);
  };
  await train(model, options.nextBatch ?? batch, { learningRate: 1e-2, logEvery: 1, ...options, onProgress });
  const weights = model.namedParams().map((p) => Float32Array.from(p.variable.dataSync() as Float32Array));
  model.dispose();
  return { losses, norms, weights };
}

/** Asserts that two curves agree to within `relative` of each value, step by step. */
function expectSameCurve(actual: number[], expected: number[], relative: number): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((x, i) => expect(Math.abs(x - expected[i]!)).toBeLessThan(relative * Math.max(1, Math.abs(expected[i]!))));
}

function maxAbsDiff(a: Float32Array[], b: Float32Array[]): number {
  let max = 0;
  a.forEach((x, i) => x.forEach((v, j) => (max = Math.max(max, Math.abs(v - b[i]![j]!)))));
  return max;
}

beforeAll(async () => {
  await setupBackend();
});

describe('train with workers', () => {
  it('2 workers follow 1 worker\'s loss curve over 200 steps at equal global batch', async () => {
    const one = await lossCurve({ steps: 200 });
    const two = await lossCurve({ steps: 200, workers: 2 });
    // It learns (so the curves compared are not flat)…
    expect(one.losses.at(-1)!).toBeLessThan(one.losses[0]! / 3);
    // …and the two curves agree to float tolerance, step by step.
    expectSameCurve(two.losses, one.losses, 1e-3);
    expectSameCurve(two.norms, one.norms, 1e-2);
  }, 300_000);

  it('is deterministic for a seed and a number of workers, with gradAccum in each worker', async () => {
    const a = await lossCurve({ steps: 12, workers: 2, gradAccum: 2 });
    const b = await lossCurve({ steps: 12, workers: 2, gradAccum: 2 });
    expect(b.losses).toEqual(a.losses);
    expect(maxAbsDiff(a.weights, b.weights)).toBe(0);
    const one = await lossCurve({ steps: 12 });
    expectSameCurve(a.losses, one.losses, 1e-4);
  }, 120_000);

  it('a resumed run on 2 workers continues from the checkpoint\'s weights and moments, as the uninterrupted run', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'attend-workers-resume-'));
    try {
      const whole = await lossCurve({ steps: 6, workers: 2 });
      await lossCurve({ steps: 3, workers: 2, checkpoint: { dir } });
      const resumed = await lossCurve({ steps: 6, workers: 2, checkpoint: { dir }, resume: true });
      expect(resumed.losses).toEqual(whole.losses.slice(3));
      expect(maxAbsDiff(resumed.weights, whole.weights)).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('with dropout, 2 workers are deterministic (each worker\'s dropout stream is seeded) and differ from no dropout', async () => {
    const dropped = createModelConfig({ ...config, dropout: 0.3 });
    const curve = async (c: typeof config) => {
      const model = createModel(c, { seed: 3 });
      const losses: number[] = [];
      await train(model, batch, { steps: 4, learningRate: 1e-2, logEvery: 1, workers: 2, onProgress: (e) => e.type === 'step' && losses.push(e.loss) });
      model.dispose();
      return losses;
    };
    const a = await curve(dropped);
    expect(await curve(dropped)).toEqual(a);
    expect(await curve(config)).not.toEqual(a);
  }, 120_000);

  it('ends training with one line when a worker fails, without hanging', async () => {
    const model = createModel(config, { seed: 3 });
    // Step 3's batch is longer than the model's context: the worker's forward pass throws.
    const bad = (step: number): TrainBatch => {
      if (step < 3) return batch(step);
      const ids = new Int32Array(B * (T + 1));
      return lmTrainBatch({ batchSize: B, seqLen: T + 1, inputIds: ids, labels: ids });
    };
    const error = await train(model, bad, { steps: 5, learningRate: 1e-2, workers: 2 }).then(() => undefined, (e: Error) => e);
    model.dispose();
    expect(error?.name).toBe('TrainingError');
    expect(error?.message).toMatch(/^worker [12] of 2: sequence of length 9 exceeds maxSeqLen 8$/);
  }, 120_000);

  it('ends training with the failing worker\'s one line when only it throws, while the other waits for it mid-step', async () => {
    const model = createModel(config, { seed: 3 });
    // Step 2's token ids lack the last one: only worker 2's share (rows 4–7) is malformed; worker 1 computes its gradients and waits.
    const bad = (step: number): TrainBatch => {
      const b = batch(step);
      return step < 2 ? b : { ...b, input: { ...b.input, ids: b.input.ids.subarray(0, B * T - 1) } };
    };
    const error = await train(model, bad, { steps: 3, learningRate: 1e-2, workers: 2 }).then(() => undefined, (e: Error) => e);
    model.dispose();
    expect(error?.name).toBe('TrainingError');
    expect(error?.message).toMatch(/^worker 2 of 2: [^\n]+$/);
  }, 60_000);

  it('ends training with one line when a worker thread exits, and does not wait for it', async () => {
    const model = createModel(config, { seed: 3 });
    const pool = await GradientWorkers.start(model, { workers: 2, gradAccum: 1, optimizer: new AdamW(), clipNorm: 1 });
    await (pool as unknown as { workers: Worker[] }).workers[1]!.terminate();
    await expect(pool.step(batch(1), 1, 1e-2, new AdamW())).rejects.toThrow(/^worker 2 of 2 exited \(code 1\) while training$/);
    await pool.close();
    model.dispose();
  }, 120_000);

  it('refuses a worker count that is not a positive integer; a batch of fewer rows than workers trains on the first', async () => {
    const model = createModel(config, { seed: 3 });
    await expect(train(model, batch, { steps: 1, learningRate: 1e-2, workers: 0 })).rejects.toThrow(/^workers: 0 is not allowed; expected an integer >= 1$/);
    await expect(train(model, batch, { steps: 1, learningRate: 1e-2, workers: 1.5 })).rejects.toThrow(/^workers: 1.5 is not allowed; expected an integer >= 1$/);
    model.dispose();
    const oneRow = (step: number): TrainBatch => microBatches(batch(step), B)[0]!;
    const one = await lossCurve({ steps: 3, nextBatch: oneRow });
    const two = await lossCurve({ steps: 3, nextBatch: oneRow, workers: 2 });
    expectSameCurve(two.losses, one.losses, 1e-5);
  }, 120_000);
});
