// The trainer's memory estimate before its first step (trainer.ts `checkMemory`, core's
// memoryFit): a step over the budget — the tfjs wasm heap's, or `memoryLimit` — is refused in one
// line before any step runs, naming the gradAccum or batch that fits; and a step on worker
// threads that runs a heap out anyway is reworded (`heapExhausted`). The 2-worker tests run the
// package's build (dist/): `npx tsc -p tsconfig.build.json` first.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { batchLengths, createModelConfig, trainingMemory, type EncoderDecoderConfig } from '@attend/core';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { setupBackend } from './backend.js';
import { GradientWorkers } from './data-parallel.js';
import { createModel, type AttendModel } from './models.js';
import { seq2seqTask, type Seq2SeqTask } from './seq2seq-task.js';
import { pairs, tinyConfig, tokenizer } from './test-utils/copy-task.js';
import { lmTrainBatch, train, TrainingError, type TrainBatch, type TrainerOptions, type TrainingEvent } from './trainer.js';

const config: EncoderDecoderConfig = tinyConfig();

let task: Seq2SeqTask;
/** The estimated bytes of a step of `rows` rows at the first batch's lengths. */
let bytesOf: (rows: number) => number;

beforeAll(async () => {
  await setupBackend();
  task = seq2seqTask(pairs, pairs.slice(0, 4), tokenizer, { batchSize: 8, seed: 1, maxSrcLen: 8, maxTgtLen: 8 });
  const first = task.nextBatch(1);
  const lengths = batchLengths({ input: first.input.seqLen, target: first.target!.seqLen });
  bytesOf = (rows) => trainingMemory(config, { ...lengths, batchSize: rows }).bytes;
});

/** Trains a fresh tiny model; every batch it asked for and every event it reported, and whether its weights moved. */
async function attempt(options: Partial<TrainerOptions>) {
  const model = createModel(config, { seed: 1 });
  const before = model.namedParams().map((p) => Float32Array.from(p.variable.dataSync() as Float32Array));
  const asked: number[] = [];
  const events: TrainingEvent[] = [];
  const nextBatch = (step: number): TrainBatch => {
    asked.push(step);
    return task.nextBatch(step);
  };
  try {
    const result = await train(model, nextBatch, { steps: 2, learningRate: 1e-2, logEvery: 1, ...options, onProgress: (e) => events.push(e) });
    return { result, asked, events, moved: moved(model, before) };
  } catch (error) {
    return { error: error as Error, asked, events, moved: moved(model, before) };
  } finally {
    model.dispose();
  }
}

function moved(model: AttendModel, before: Float32Array[]): boolean {
  return model.namedParams().some((p, i) => (p.variable.dataSync() as Float32Array).some((x, j) => x !== before[i]![j]));
}

const MESSAGE = /^memory: a batch of 8 rows of source (\d+), target (\d+) positions( in micro-batches of \d+)? needs ~0\.\d\d GiB; memoryLimit is 0\.\d\d GiB; gradAccum (\d+) fits \(micro-batches of at most (\d+)\), or a batch of (\d+) rows$/;

describe('train: the memory estimate before the first step', () => {
  it('a batch over memoryLimit is refused before any step, naming the gradAccum and the batch that fit; that gradAccum trains', async () => {
    // Between the estimates of 2 and 3 rows: micro-batches of 2 fit, so 4 of them for 8 rows.
    const memoryLimit = (bytesOf(2) + bytesOf(3)) / 2;
    const refused = await attempt({ memoryLimit });
    expect(refused.error).toBeInstanceOf(TrainingError);
    const m = MESSAGE.exec(refused.error!.message);
    expect(m, refused.error!.message).not.toBeNull();
    const first = task.nextBatch(1);
    expect([Number(m![1]), Number(m![2])]).toEqual([first.input.seqLen, first.target!.seqLen]);
    expect(m![3]).toBeUndefined();
    expect([Number(m![4]), Number(m![5]), Number(m![6])]).toEqual([4, 2, 2]);
    // Only the first batch was made (to be estimated); no step ran, no event, no weight moved.
    expect(refused.asked).toEqual([1]);
    expect(refused.events).toEqual([]);
    expect(refused.moved).toBe(false);

    // Too few micro-batches are refused naming their size; the gradAccum named trains, each batch made once.
    const three = await attempt({ memoryLimit, gradAccum: 3 });
    expect(three.error?.message).toMatch(/^memory: a batch of 8 rows of .* in micro-batches of 3 needs .* gradAccum 4 fits \(micro-batches of at most 2\), or a batch of 6 rows$/);
    const ok = await attempt({ memoryLimit, gradAccum: 4 });
    expect(ok.error).toBeUndefined();
    expect(ok.result?.state.step).toBe(2);
    expect(ok.asked).toEqual([1, 2]);
    expect(ok.events.filter((e) => e.type === 'step')).toHaveLength(2);
  });

  it('a resumed run estimates the batch of its next step, and a refusal leaves no tensor behind', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'attend-trainer-memory-'));
    try {
      const model = createModel(config, { seed: 1 });
      await train(model, task.nextBatch, { steps: 2, learningRate: 1e-2, checkpoint: { dir } });
      const tensors = tf.memory().numTensors;
      const asked: number[] = [];
      const nextBatch = (step: number) => (asked.push(step), task.nextBatch(step));
      const refused = train(model, nextBatch, { steps: 4, learningRate: 1e-2, checkpoint: { dir }, resume: true, memoryLimit: (bytesOf(2) + bytesOf(3)) / 2 });
      await expect(refused).rejects.toThrow(/^memory: a batch of 8 rows .* gradAccum 4 fits/);
      expect(asked).toEqual([3]);
      expect(tf.memory().numTensors).toBe(tensors);
      model.dispose();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a model whose one example is over memoryLimit is refused naming what to lower', async () => {
    const refused = await attempt({ memoryLimit: bytesOf(1) / 2, gradAccum: 8 });
    expect(refused.error?.message).toMatch(/^memory: a batch of 8 rows of source \d+, target \d+ positions; one example needs ~0\.\d\d GiB to train this model \([\d,]+ parameters\); memoryLimit is 0\.\d\d GiB; lower dModel, the layers, the sequence length or the vocabulary$/);
    expect(refused.asked).toEqual([1]);
    expect(refused.events).toEqual([]);
  });

  it('on the wasm backend the default budget is its heap: a batch far over it is refused, never run', async () => {
    expect(tf.getBackend()).toBe('wasm');
    // A tiny decoder-lm, but 2,048 rows of 512 tokens: its attention scores alone are 4.3 GB (2,048 × 2 heads × 512²).
    const lm = createModel(createModelConfig({ preset: 'decoder-lm', vocabSize: 11, dModel: 16, numHeads: 2, numDecoderLayers: 1, dFf: 32, maxSeqLen: 512, dropout: 0 }), { seed: 1 });
    const rows = 2048;
    const T = 512;
    const ids = new Int32Array(rows * T).map((_, i) => i % 11);
    const big = lmTrainBatch({ batchSize: rows, seqLen: T, inputIds: ids, labels: ids });
    const events: TrainingEvent[] = [];
    const failure = train(lm, () => big, { steps: 1, learningRate: 1e-3, onProgress: (e) => events.push(e) });
    await expect(failure).rejects.toThrow(/^memory: a batch of 2048 rows of 512 positions needs ~\d+\.\d GiB; the tfjs wasm heap holds 4\.0 GiB \(3\.6 GiB for training; the estimate is an upper bound, memoryLimit: Infinity skips it\); gradAccum (\d+) fits \(micro-batches of at most \d+\), or a batch of \d+ rows$/);
    expect(events).toEqual([]);
    lm.dispose();
  });

  it('memoryLimit must be bytes > 0; Infinity turns the check off', async () => {
    const refused = await attempt({ memoryLimit: 0 });
    expect(refused.error?.message).toBe('memoryLimit: 0 is not allowed; expected bytes > 0 (or Infinity: no check)');
    expect(refused.asked).toEqual([]);
    expect((await attempt({ memoryLimit: Number.NaN })).error?.message).toMatch(/^memoryLimit: NaN is not allowed/);
    // Accepted (a run the default budget passes, so the step runs either way).
    const unchecked = await attempt({ memoryLimit: Infinity });
    expect(unchecked.error).toBeUndefined();
    expect(unchecked.result?.state.step).toBe(2);
  });

  it('with 2 workers each heap holds half the rows: refused on one thread, trained on two', async () => {
    // Between the estimates of 4 and 5 rows: a worker's 4 rows fit, the whole 8 do not.
    const memoryLimit = (bytesOf(4) + bytesOf(5)) / 2;
    const one = await attempt({ memoryLimit });
    expect(one.error?.message).toMatch(/gradAccum 2 fits \(micro-batches of at most 4\), or a batch of 4 rows$/);
    const two = await attempt({ memoryLimit, workers: 2 });
    expect(two.error).toBeUndefined();
    expect(two.result?.state.step).toBe(2);
    expect(two.moved).toBe(true);
    // Under a worker's share: refused per worker, naming the gradAccum of each worker's rows.
    const tight = await attempt({ memoryLimit: (bytesOf(2) + bytesOf(3)) / 2, workers: 2 });
    expect(tight.error?.message).toMatch(/^memory: a batch of 8 rows of .* on 2 workers \(4 rows each\) needs ~0\.\d\d GiB per worker; memoryLimit is 0\.\d\d GiB; gradAccum 2 fits \(micro-batches of at most 2\), or a batch of 4 rows$/);
    expect(tight.events).toEqual([]);
  }, 60_000);

  it("on 2 workers, a step whose worker ran its heap out (the pool's 'worker i of n: Aborted(OOM)') stops with one line naming the step", async () => {
    // Real workers train step 1; step 2 is answered as the pool answers when a worker's wasm heap
    // cannot grow (emscripten's abort), which needs no 4 GiB allocation.
    const original = GradientWorkers.prototype.step;
    const step = vi.spyOn(GradientWorkers.prototype, 'step').mockImplementation(function (this: GradientWorkers, batch, n, lr, optimizer) {
      return n === 2 ? Promise.reject(new TrainingError('worker 2 of 2: Aborted(OOM)')) : original.call(this, batch, n, lr, optimizer);
    });
    const model = createModel(config, { seed: 1 });
    const steps: number[] = [];
    try {
      const failure = train(model, task.nextBatch, { steps: 3, learningRate: 1e-3, workers: 2, gradAccum: 2, logEvery: 1, onProgress: (e) => e.type === 'step' && steps.push(e.step) });
      await expect(failure).rejects.toThrow(/^step 2: the tfjs backend ran out of memory \(worker 2 of 2: Aborted\(OOM\)\); a step must fit the wasm heap .*gradAccum, now 2/);
      expect(steps).toEqual([1]);
      expect(step).toHaveBeenCalledTimes(2);
    } finally {
      step.mockRestore();
      model.dispose();
    }
  }, 60_000);
});
