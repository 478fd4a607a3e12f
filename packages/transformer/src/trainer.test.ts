import { cp, mkdtemp, readdir, readFile, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupBackend } from './backend.js';
import type { AttendModel } from './models.js';
import { CHECKPOINT_FILES, loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { TransformerModel } from './model.js';
import { learningRate } from './optimizer.js';
import { seq2seqTask, type Seq2SeqTask } from './seq2seq-task.js';
import { pairs, tinyConfig, tokenizer } from './test-utils/copy-task.js';
import { microBatches, train, TrainingError, type TrainerOptions, type TrainingEvent } from './trainer.js';


let task: Seq2SeqTask;
let root: string;

beforeAll(async () => {
  await setupBackend();
  task = seq2seqTask(pairs, pairs.slice(0, 4), tokenizer, { batchSize: 8, seed: 1, maxSrcLen: 8, maxTgtLen: 8 });
  root = await mkdtemp(join(tmpdir(), 'attend-trainer-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

let dirCount = 0;
const freshDir = (): string => join(root, `run-${++dirCount}`);

function weights(model: AttendModel): Record<string, Float32Array> {
  return Object.fromEntries(model.namedParams().map((p) => [p.name, Float32Array.from(p.variable.dataSync() as Float32Array)]));
}

function maxAbsDiff(a: Record<string, Float32Array>, b: Record<string, Float32Array>): number {
  expect(Object.keys(a)).toEqual(Object.keys(b));
  let max = 0;
  for (const [name, x] of Object.entries(a)) {
    const y = b[name]!;
    for (let i = 0; i < x.length; i++) max = Math.max(max, Math.abs(x[i]! - y[i]!));
  }
  return max;
}

/** Trains a fresh seed-1 tiny model and returns it with every event it reported. */
async function run(options: Partial<TrainerOptions> & { steps: number }, model = new TransformerModel(tinyConfig(), { seed: 1 })) {
  const events: TrainingEvent[] = [];
  const onProgress = options.onProgress;
  const result = await train(model, task.nextBatch, {
    learningRate: 1e-2,
    ...options,
    onProgress: (e) => {
      events.push(e);
      onProgress?.(e);
    },
  });
  return { model, events, result };
}

const summary = (events: TrainingEvent[]): string[] =>
  events.map((e) => (e.type === 'stop' ? `stop@${e.step}:${e.reason}` : `${e.type}@${e.step}`));

describe('train', () => {
  it('lowers the loss on a tiny copy task', async () => {
    const { model, events, result } = await run({ steps: 40, learningRate: 2e-2, logEvery: 1 });
    const losses = events.flatMap((e) => (e.type === 'step' ? [e.loss] : []));
    expect(losses).toHaveLength(40);
    expect(result.state.losses.map((l) => l.step)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    const first = (losses[0]! + losses[1]! + losses[2]!) / 3;
    const last = (losses[37]! + losses[38]! + losses[39]!) / 3;
    expect(first).toBeGreaterThan(1.5);
    expect(last).toBeLessThan(0.4 * first);
    expect(result).toMatchObject({ reason: 'completed', state: { step: 40 } });
    model.dispose();
  });

  it("trains a model's own trainingLoss when it has one, told the step it is computing", async () => {
    const model = new TransformerModel(tinyConfig(), { seed: 1 }) as TransformerModel & Pick<AttendModel, 'trainingLoss'>;
    const target = model.namedParams().find((p) => p.name.endsWith('shared.weight') || p.name.includes('embed'))!.variable;
    const seen: Array<[boolean, number]> = [];
    // An objective unrelated to the labels: pull one weight matrix to 0.5 everywhere.
    model.trainingLoss = (_batch, context) => {
      seen.push([context.training, context.step]);
      return tf.mean(tf.square(tf.sub(target, 0.5))) as tf.Scalar;
    };
    const gap = () => tf.tidy(() => tf.max(tf.abs(tf.sub(target, 0.5))).dataSync()[0]!);
    const before = gap();
    const { events } = await run({ steps: 6, learningRate: 5e-2, logEvery: 1, gradAccum: 2 }, model);
    expect(seen).toEqual([1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6].map((step) => [true, step]));
    const losses = events.flatMap((e) => (e.type === 'step' ? [e.loss] : []));
    expect(losses[5]!).toBeLessThan(0.7 * losses[0]!);
    expect(gap()).toBeLessThan(before);
    model.dispose();
  });

  it('a step that runs the wasm heap out stops with one line naming the step and what to lower, not a crash', async () => {
    const model = new TransformerModel(tinyConfig(), { seed: 1 }) as TransformerModel & Pick<AttendModel, 'trainingLoss'>;
    const weight = model.namedParams()[0]!.variable;
    model.trainingLoss = (_batch, context) => {
      // What the tfjs wasm backend throws when a step's tensors do not fit its heap.
      if (context.step === 3) throw new WebAssembly.RuntimeError('memory access out of bounds');
      return tf.mean(tf.square(weight)) as tf.Scalar;
    };
    const failure = train(model, task.nextBatch, { steps: 5, learningRate: 1e-3, gradAccum: 2 });
    await expect(failure).rejects.toThrow(TrainingError);
    await expect(failure).rejects.toThrow(/^step 3: the tfjs backend ran out of memory \(memory access out of bounds\); .*gradAccum, now 2/);
    // Any other error goes through as it was.
    model.trainingLoss = () => {
      throw new RangeError('something else');
    };
    await expect(train(model, task.nextBatch, { steps: 1, learningRate: 1e-3 })).rejects.toThrow(/^something else$/);
    model.dispose();
  });

  it('refuses worker threads for a model with its own objective (its sampling and baselines live in the model)', async () => {
    const model = new TransformerModel(tinyConfig(), { seed: 1 }) as TransformerModel & Pick<AttendModel, 'trainingLoss'>;
    model.trainingLoss = () => tf.scalar(0);
    await expect(train(model, task.nextBatch, { steps: 1, learningRate: 1e-3, workers: 2 })).rejects.toThrow(/workers: 2; a model with its own training objective \(trainingLoss\) trains on one thread/);
    model.dispose();
  });

  it('reports lr from the schedule and the pre-clipping gradient norm', async () => {
    const schedule = { kind: 'cosine', warmupSteps: 4, totalSteps: 12, minLr: 1e-4 } as const;
    const { model, events } = await run({ steps: 12, logEvery: 1, schedule, clipNorm: 0.5 });
    const steps = events.filter((e) => e.type === 'step');
    expect(steps.map((e) => e.lr)).toEqual(steps.map((e) => learningRate(schedule, 1e-2, e.step)));
    for (const e of steps) {
      expect(e.totalSteps).toBe(12);
      expect(Number.isFinite(e.gradNorm) && e.gradNorm > 0).toBe(true);
      expect(e.tokensPerSecond).toBeGreaterThan(0);
    }
    // At the start of training the raw norm is above the clip threshold, and reported as such.
    expect(steps[0]!.gradNorm).toBeGreaterThan(0.5);
    model.dispose();
  });

  it('keeps the number of live tensors flat across steps, evaluations and checkpoints', async () => {
    const counts = new Map<number, number>();
    const model = new TransformerModel(tinyConfig(), { seed: 1 });
    model.namedParams(); // layers create their weights lazily, on first use
    const before = tf.memory().numTensors;
    await run({
      steps: 50,
      logEvery: 5,
      evalEvery: 10,
      evaluate: async (m) => ({ exactMatch: (await task.evaluate(m)).exactMatch }),
      checkpoint: { dir: freshDir(), every: 5 },
      onProgress: (e) => {
        if (e.type === 'step') counts.set(e.step, tf.memory().numTensors);
      },
    }, model);
    expect([...counts.keys()]).toEqual([5, 10, 15, 20, 25, 30, 35, 40, 45, 50]);
    expect(counts.get(50)).toBe(counts.get(5));
    expect(new Set(counts.values()).size).toBe(1);
    // Once training returns, the optimizer's moments are freed too: only the model remains.
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  it('with gradAccum follows the same losses and gradient norms as one batch (targets of different lengths)', async () => {
    const plain = await run({ steps: 12, logEvery: 1 });
    // 8 rows in 3 micro-batches of 2–3 rows: padding differs between them, so an unweighted
    // mean of the micro-batch losses would not be the batch's.
    for (const gradAccum of [3, 8]) {
      const live = tf.memory().numTensors;
      const accumulated = await run({ steps: 12, logEvery: 1, gradAccum });
      // (Weights are not compared: Adam turns rounding-level gradients of ~0 into ±lr steps.)
      const steps = (events: TrainingEvent[]) => events.flatMap((e) => (e.type === 'step' ? [e] : []));
      const a = steps(plain.events);
      const b = steps(accumulated.events);
      expect(b).toHaveLength(12);
      for (let i = 0; i < 12; i++) {
        expect(Math.abs(a[i]!.loss - b[i]!.loss)).toBeLessThan(1e-4);
        expect(Math.abs(a[i]!.gradNorm - b[i]!.gradNorm) / a[i]!.gradNorm).toBeLessThan(1e-4);
      }
      accumulated.model.dispose();
      expect(tf.memory().numTensors).toBe(live); // no micro-batch gradient left behind
    }
    plain.model.dispose();
  });

  it('draws dropout masks from the step: two runs with dropout repeat each other exactly', async () => {
    const dropped = () => new TransformerModel(tinyConfig({ dropout: 0.3 }), { seed: 1 });
    const losses = (events: TrainingEvent[]) => events.flatMap((e) => (e.type === 'step' ? [e.loss] : []));
    const noise = Math.random(); // whatever ran before does not matter
    const a = await run({ steps: 6, logEvery: 1 }, dropped());
    expect(noise).toBeLessThan(1);
    const b = await run({ steps: 6, logEvery: 1 }, dropped());
    expect(losses(b.events)).toEqual(losses(a.events));
    expect(maxAbsDiff(weights(a.model), weights(b.model))).toBe(0);
    const plain = await run({ steps: 6, logEvery: 1 });
    expect(losses(plain.events)).not.toEqual(losses(a.events)); // dropout is on
    [a.model, b.model, plain.model].forEach((m) => m.dispose());
  });

  it('splits a batch into micro-batches of consecutive rows that put it back together', () => {
    const batch = task.nextBatch(1);
    const parts = microBatches(batch, 3);
    expect(parts.map((p) => p.input.batchSize)).toEqual([2, 3, 3]);
    const joined = (pick: (b: typeof batch) => Int32Array | Float32Array) => parts.flatMap((p) => Array.from(pick(p)));
    expect(joined((b) => b.input.ids)).toEqual(Array.from(batch.input.ids));
    expect(joined((b) => b.target!.ids)).toEqual(Array.from(batch.target!.ids));
    expect(joined((b) => b.target!.lengths!)).toEqual(Array.from(batch.target!.lengths!));
    expect(joined((b) => b.labels)).toEqual(Array.from(batch.labels));
    expect(joined((b) => b.labelWeights!)).toEqual(Array.from(batch.labelWeights!));
    expect(() => microBatches(batch, 9)).toThrow(/gradAccum: 9 micro-batches cannot split a batch of 8 rows; use at most 8/);
  });

  it('refuses a gradAccum that is not a positive integer', async () => {
    await expect(run({ steps: 1, gradAccum: 0 })).rejects.toThrow(/gradAccum: 0 is not allowed/);
    await expect(run({ steps: 1, gradAccum: 1.5 })).rejects.toThrow(/gradAccum: 1.5 is not allowed/);
  });

  it('emits step, eval, checkpoint and stop events in order', async () => {
    const { model, events } = await run({
      steps: 20,
      logEvery: 5,
      evalEvery: 10,
      evaluate: (_, step) => ({ score: step }),
      checkpoint: { dir: freshDir() },
    });
    expect(summary(events)).toEqual(['step@5', 'step@10', 'eval@10', 'checkpoint@10', 'step@15', 'step@20', 'eval@20', 'checkpoint@20', 'stop@20:completed']);
    model.dispose();
  });

  it('checkpoints every N steps and once more at the end', async () => {
    const dir = freshDir();
    const { model, events, result } = await run({ steps: 10, logEvery: 5, checkpoint: { dir, every: 4 } });
    expect(summary(events)).toEqual(['checkpoint@4', 'step@5', 'checkpoint@8', 'step@10', 'checkpoint@10', 'stop@10:completed']);
    expect(events.find((e) => e.type === 'checkpoint')).toEqual({ type: 'checkpoint', step: 4, dir });
    const saved = await loadCheckpoint(dir);
    expect(saved.trainerState).toEqual(result.state);
    expect(saved.optimizer?.step).toBe(10);
    expect(maxAbsDiff(weights(saved.model), weights(model))).toBe(0);
    expect((await readdir(root)).filter((n) => n.includes('.tmp-') || n.includes('.old-'))).toEqual([]);
    saved.model.dispose();
    model.dispose();
  });

  it('evaluates at the end when the last step is not an eval step', async () => {
    const seen: number[] = [];
    const { model, result } = await run({ steps: 7, evalEvery: 5, evaluate: (_, step) => (seen.push(step), { score: step }) });
    expect(seen).toEqual([5, 7]);
    expect(result.state.evals.map((e) => e.step)).toEqual([5, 7]);
    model.dispose();
  });

  it('stops when the abort signal fires', async () => {
    const controller = new AbortController();
    const { model, events, result } = await run({ steps: 50, logEvery: 1, signal: controller.signal, onProgress: (e) => e.type === 'step' && e.step === 3 && controller.abort() });
    expect(result).toMatchObject({ reason: 'aborted', state: { step: 3 } });
    expect(summary(events).at(-1)).toBe('stop@3:aborted');
    model.dispose();
  });

  it('lets an abort from a timer (an event, as a worker message) stop a run mid-way', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const { model, result } = await run({ steps: 3000, logEvery: 1000, signal: controller.signal });
    expect(result.reason).toBe('aborted');
    expect(result.state.step).toBeGreaterThan(0);
    expect(result.state.step).toBeLessThan(3000);
    model.dispose();
  });
});

describe('early stopping', () => {
  it("stops at the first evaluation that reaches the target, with reason 'target-reached'", async () => {
    const dir = freshDir();
    const scores: Record<number, number> = { 3: 0.2, 6: 0.5, 9: 0.9, 12: 0.95 };
    const { model, events, result } = await run({
      steps: 100,
      logEvery: 100,
      evalEvery: 3,
      evaluate: (_, step) => ({ exactMatch: scores[step] ?? 0 }),
      earlyStopping: { metric: 'exactMatch', mode: 'max', target: 0.9 },
      checkpoint: { dir },
    });
    expect(result.reason).toBe('target-reached');
    expect(result.state.step).toBe(9);
    expect(result.state.best).toEqual({ metric: 'exactMatch', value: 0.9, step: 9 });
    expect(summary(events)).toEqual(['eval@3', 'checkpoint@3', 'eval@6', 'checkpoint@6', 'eval@9', 'checkpoint@9', 'stop@9:target-reached']);
    expect((await loadCheckpoint(dir)).trainerState?.step).toBe(9);
    model.dispose();
  });

  it("stops after `patience` evaluations without improvement, with reason 'early-stopping'", async () => {
    const losses = [5, 4, 4.5, 4, 4.2, 1];
    const { model, events, result } = await run({
      steps: 100,
      logEvery: 100,
      evalEvery: 2,
      evaluate: (_, step) => ({ loss: losses[step / 2 - 1]!, other: 0 }),
      earlyStopping: { metric: 'loss', mode: 'min', patience: 3 },
    });
    expect(result.reason).toBe('early-stopping');
    // Best 4 at step 4; 4.5, 4 (not strictly better) and 4.2 are three bad evaluations.
    expect(result.state.step).toBe(10);
    expect(result.state.best).toEqual({ metric: 'loss', value: 4, step: 4 });
    expect(result.state.badEvals).toBe(3);
    const evals = events.filter((e) => e.type === 'eval');
    expect(evals.map((e) => e.best)).toEqual([true, true, false, false, false]);
    expect(evals[0]!.metrics).toEqual({ loss: 5, other: 0 });
    model.dispose();
  });

  it('rejects an early-stopping metric that evaluate does not return', async () => {
    const model = new TransformerModel(tinyConfig(), { seed: 1 });
    await expect(
      train(model, task.nextBatch, { steps: 4, learningRate: 1e-3, evalEvery: 2, evaluate: () => ({ bleu: 1 }), earlyStopping: { metric: 'exactMatch', mode: 'max' } }),
    ).rejects.toThrow(/earlyStopping\.metric 'exactMatch' is not among the evaluated metrics \(bleu\)/);
    model.dispose();
  });
});

describe('non-finite loss', () => {
  it('throws a TrainingError naming the step and the last good checkpoint, which still loads', async () => {
    const dir = freshDir();
    const model = new TransformerModel(tinyConfig(), { seed: 1 });
    const poisoned = 'decoder.layers.0.fc1.bias';
    let atSave: Record<string, Float32Array> | undefined;
    model.namedParams(); // layers create their weights lazily, on first use
    const before = tf.memory().numTensors;
    const error = await train(model, task.nextBatch, {
      steps: 30,
      learningRate: 1e-2,
      checkpoint: { dir, every: 5 },
      onProgress: (e) => {
        if (e.type !== 'checkpoint' || e.step !== 10) return;
        atSave = weights(model);
        const bias = model.namedParams().find((p) => p.name === poisoned)!.variable;
        tf.tidy(() => bias.assign(tf.fill(bias.shape, NaN)));
      },
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TrainingError);
    const message = (error as Error).message;
    expect(message).toMatch(/loss is NaN at step 11\b/);
    expect(message).toContain(`last good checkpoint: ${dir} (step 10)`);
    expect(message).not.toContain('\n');
    // The bad update was not applied: every other weight is still what was saved at step 10.
    const now = weights(model);
    delete now[poisoned];
    const saved = { ...atSave! };
    delete saved[poisoned];
    expect(maxAbsDiff(now, saved)).toBe(0);
    // The optimizer was freed on the way out.
    expect(tf.memory().numTensors).toBe(before);
    // The folder still holds the step-10 weights.
    const loaded = await loadCheckpoint(dir);
    expect(loaded.trainerState?.step).toBe(10);
    expect(maxAbsDiff(weights(loaded.model), atSave!)).toBe(0);
    loaded.model.dispose();
    model.dispose();
  });

  it('says so when no checkpoint was written yet (Infinity from an overflowing weight)', async () => {
    const model = new TransformerModel(tinyConfig(), { seed: 1 });
    const embed = model.namedParams().find((p) => p.name === 'embed_tokens.weight')!.variable;
    const error = await train(model, task.nextBatch, {
      steps: 10,
      learningRate: 1e-2,
      logEvery: 1,
      onProgress: (e) => {
        if (e.type === 'step' && e.step === 3) tf.tidy(() => embed.assign(tf.fill(embed.shape, 3e38)));
      },
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TrainingError);
    expect((error as Error).message).toMatch(/^loss is (NaN|-?Infinity) at step 4; stopped before applying that update \(no checkpoint was written yet\)/);
    model.dispose();
  });
});

describe('resume', () => {
  const schedule = { kind: 'cosine', warmupSteps: 5, totalSteps: 40, minLr: 1e-3 } as const;
  const common = { learningRate: 1e-2, schedule, logEvery: 10, optimizer: { weightDecay: 0.05 } } as const;

  it('continues a 20-step run to 40 steps exactly as an uninterrupted 40-step run', async () => {
    const dir = freshDir();
    const first = await run({ ...common, steps: 20, checkpoint: { dir, every: 10 } });
    first.model.dispose();
    const withoutMoments = freshDir();
    await cp(dir, withoutMoments, { recursive: true });
    await rm(join(withoutMoments, CHECKPOINT_FILES.optimizer));
    const fresh = new TransformerModel(tinyConfig(), { seed: 99 });
    const resumed = await run({ ...common, steps: 40, checkpoint: { dir, every: 10 }, resume: true }, fresh);
    const straight = await run({ ...common, steps: 40 });
    expect(maxAbsDiff(weights(resumed.model), weights(straight.model))).toBeLessThanOrEqual(1e-6);
    // The resumed run did only the remaining steps and kept the earlier history.
    expect(summary(resumed.events)).toEqual(['step@30', 'checkpoint@30', 'step@40', 'checkpoint@40', 'stop@40:completed']);
    expect(resumed.result.state.losses.map((l) => l.step)).toEqual([10, 20, 30, 40]);
    expect(resumed.result.state.losses).toEqual(straight.result.state.losses);
    // The comparison has teeth: restarting Adam's moments at step 20 ends somewhere else.
    const cold = await run({ ...common, steps: 40, checkpoint: { dir: withoutMoments }, resume: true }, new TransformerModel(tinyConfig(), { seed: 99 }));
    expect(maxAbsDiff(weights(cold.model), weights(straight.model))).toBeGreaterThan(1e-4);
    for (const m of [resumed.model, straight.model, cold.model]) m.dispose();
  });

  it('writes metrics.jsonl and extra files with each save; a resumed run continues both', async () => {
    const dir = freshDir();
    const evaluate = () => ({ loss: 1.5 });
    const files = (state: { step: number }) => ({ 'plot.txt': new TextEncoder().encode(`step ${state.step}`) });
    const lines = async () => (await readFile(join(dir, CHECKPOINT_FILES.metrics), 'utf8')).trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, number>);
    const first = await run({ steps: 20, logEvery: 5, evalEvery: 10, evaluate, checkpoint: { dir, files } });
    first.model.dispose();
    const before = await lines();
    expect(before.map((l) => l.step)).toEqual([10, 20]);
    // train_loss: the mean of the losses of the 10 steps since the evaluation before.
    expect(before.every((l) => l.dev_loss === 1.5 && Number.isFinite(l.train_loss) && l.train_loss! > 0)).toBe(true);
    expect(before[1]!.elapsed_s).toBeGreaterThanOrEqual(before[0]!.elapsed_s!);
    expect(await readFile(join(dir, 'plot.txt'), 'utf8')).toBe('step 20');
    const resumed = await run({ steps: 40, logEvery: 5, evalEvery: 10, evaluate, checkpoint: { dir, files }, resume: true });
    resumed.model.dispose();
    const after = await lines();
    expect(after.map((l) => l.step)).toEqual([10, 20, 30, 40]);
    expect(after.slice(0, 2)).toEqual(before);
    // Training time carries over: it does not restart at 0 after the resume.
    expect(after[2]!.elapsed_s).toBeGreaterThanOrEqual(before[1]!.elapsed_s!);
    expect(await readFile(join(dir, 'plot.txt'), 'utf8')).toBe('step 40');
    // An extra file may not take a checkpoint file's name.
    const clash = run({ steps: 1, checkpoint: { dir: freshDir(), files: () => ({ [CHECKPOINT_FILES.config]: new Uint8Array(1) }) } });
    await expect(clash).rejects.toThrow(/config\.json is a checkpoint file/);
  });

  it('starts from scratch when the checkpoint folder does not exist yet', async () => {
    const dir = freshDir();
    const { model, result } = await run({ steps: 3, resume: true, checkpoint: { dir } });
    expect(result.state.step).toBe(3);
    expect((await loadCheckpoint(dir)).trainerState?.step).toBe(3);
    model.dispose();
  });

  it('refuses a checkpoint of a different config with a clear error and leaves it intact', async () => {
    const dir = freshDir();
    const first = await run({ steps: 2, checkpoint: { dir } });
    first.model.dispose();
    const weightsFile = await readFile(join(dir, CHECKPOINT_FILES.weights));
    const before = tf.memory().numTensors;
    const other = new TransformerModel(tinyConfig({ dFf: 48 }), { seed: 1 });
    await expect(run({ steps: 4, resume: true, checkpoint: { dir } }, other)).rejects.toThrow(
      new TrainingError(`${dir}: cannot resume, checkpoint has dFf=32 but the model has 48`),
    );
    other.dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(await readFile(join(dir, CHECKPOINT_FILES.weights))).toEqual(weightsFile);
  });

  // Known bug: train() checks `pathExists(checkpoint.dir)` before calling loadCheckpoint, so a
  // checkpoint left at `<dir>.old-*` by an interrupted swap (which loadCheckpoint recovers) is
  // ignored: the run silently starts again from step 1 and later overwrites it.
  // Drop `.fails` once resume goes through loadCheckpoint's recovery.
  it('resumes from a checkpoint whose swap was interrupted', async () => {
    const parent = await mkdtemp(join(root, 'interrupted-'));
    const dir = join(parent, 'run');
    const first = await run({ steps: 4, checkpoint: { dir } });
    await rename(dir, `${dir}.old-1234-5678`);
    const resumed = await run({ steps: 6, logEvery: 1, resume: true, checkpoint: { dir } }, new TransformerModel(tinyConfig(), { seed: 99 }));
    expect(resumed.events.find((e) => e.type === 'step')?.step).toBe(5);
    first.model.dispose();
    resumed.model.dispose();
  });
});

describe('saveCheckpoint from outside train', () => {
  it('can be resumed from even without trainer state or optimizer moments', async () => {
    const dir = freshDir();
    const source = new TransformerModel(tinyConfig(), { seed: 5 });
    await saveCheckpoint(dir, { model: source });
    const model = new TransformerModel(tinyConfig(), { seed: 1 });
    const seen: number[] = [];
    await train(model, task.nextBatch, { steps: 1, learningRate: 0, clipNorm: null, resume: true, checkpoint: { dir }, onProgress: (e) => e.type === 'step' && seen.push(e.step) });
    // lr 0 leaves the loaded weights as they were: the model now holds the checkpoint's weights.
    expect(seen).toEqual([1]);
    expect(maxAbsDiff(weights(model), weights(source))).toBe(0);
    source.dispose();
    model.dispose();
  });
});
