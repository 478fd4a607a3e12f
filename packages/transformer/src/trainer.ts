// The training loop: forward + loss under tf.variableGrads, global-norm clipping, AdamW with
// a learning-rate schedule, periodic evaluation, early stopping, atomic checkpoints and resume.
// It never prints: progress goes to the `onProgress` callback the caller passes.

import * as tf from '@tensorflow/tfjs-core';
import { AttendError, batchLengths, formatGiB, memoryFit, trainingBudget, WASM_HEAP_BYTES, type ModelConfig } from '@attend/core';
import { crossEntropy, lengthWeights } from './loss.js';
import type { TokenBatch } from './model.js';
import type { AttendModel } from './models.js';
import { AdamW, clipByGlobalNorm, learningRate, type AdamWOptions, type Schedule } from './optimizer.js';
import { checkpointExists, loadCheckpoint, saveCheckpoint, type TrainerState } from './checkpoint.js';
import type { GradientWorkers } from './data-parallel.js';
import { stepDropoutSeed, withDropoutSeed } from './ops.js';

/** One training example batch in model terms. */
export interface TrainBatch {
  /** Classifier/LM input, or the encoder–decoder source. */
  input: TokenBatch;
  /** Decoder input (bos + target) of the encoder–decoder. */
  target?: TokenBatch;
  /** Class ids [B] (classifier) or next-token ids [B·T] (LM, seq2seq). */
  labels: Int32Array;
  /** 1 for counted label positions, 0 for padding; default all count. */
  labelWeights?: Float32Array;
}

/** Builds a TrainBatch from core's seq2seq batch (srcIds/decoderInputIds/labels + lengths). */
export function seq2seqTrainBatch(b: {
  batchSize: number; srcLen: number; tgtLen: number; srcIds: Int32Array; srcLengths: Int32Array;
  decoderInputIds: Int32Array; labels: Int32Array; tgtLengths: Int32Array;
}): TrainBatch {
  return {
    input: { ids: b.srcIds, batchSize: b.batchSize, seqLen: b.srcLen, lengths: b.srcLengths },
    target: { ids: b.decoderInputIds, batchSize: b.batchSize, seqLen: b.tgtLen, lengths: b.tgtLengths },
    labels: b.labels,
    labelWeights: lengthWeights(b.tgtLengths, b.tgtLen),
  };
}

/** Builds a TrainBatch from an LM batch (inputIds, next-token labels, optional lengths). */
export function lmTrainBatch(b: { batchSize: number; seqLen: number; inputIds: Int32Array; labels: Int32Array; lengths?: Int32Array }): TrainBatch {
  return {
    input: { ids: b.inputIds, batchSize: b.batchSize, seqLen: b.seqLen, lengths: b.lengths },
    labels: b.labels,
    labelWeights: b.lengths ? lengthWeights(b.lengths, b.seqLen) : undefined,
  };
}

/** Builds a TrainBatch from a classification batch. */
export function classificationTrainBatch(b: { batchSize: number; seqLen: number; inputIds: Int32Array; lengths: Int32Array; labels: Int32Array; tokenTypes?: Int32Array }): TrainBatch {
  return { input: { ids: b.inputIds, batchSize: b.batchSize, seqLen: b.seqLen, lengths: b.lengths, ...(b.tokenTypes ? { tokenTypes: b.tokenTypes } : {}) }, labels: b.labels };
}

/**
 * The training loss of the model on a batch (a scalar tensor): the model's own `trainingLoss`
 * when it has one, else the mean cross-entropy of its logits against the labels.
 */
export function batchLoss(model: AttendModel, batch: TrainBatch, options: { training?: boolean; labelSmoothing?: number; step?: number } = {}): tf.Scalar {
  return tf.tidy(() => {
    if (model.trainingLoss) return model.trainingLoss(batch, { training: options.training ?? false, step: options.step ?? 0, labelSmoothing: options.labelSmoothing });
    const { logits } = model.forward(batch.input, batch.target, { training: options.training ?? false });
    const V = logits.shape[logits.shape.length - 1]!;
    return crossEntropy(tf.reshape(logits, [-1, V]) as tf.Tensor2D, batch.labels, {
      labelSmoothing: options.labelSmoothing,
      weights: batch.labelWeights,
    });
  });
}

/**
 * The [start, end) row ranges that evaluate `count` examples at most `batchSize` per forward
 * pass (the LM, seq2seq and caption tasks' dev loops); `batchSize` must be an integer >= 1.
 */
export function evalChunks(count: number, batchSize: number): [number, number][] {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new TrainingError(`evaluation batchSize: ${batchSize} is not allowed; expected an integer >= 1`);
  const chunks: [number, number][] = [];
  for (let start = 0; start < count; start += batchSize) chunks.push([start, Math.min(count, start + batchSize)]);
  return chunks;
}

export type TrainingEvent =
  | { type: 'step'; step: number; totalSteps: number; loss: number; lr: number; gradNorm: number; tokensPerSecond: number; elapsedMs: number }
  | { type: 'eval'; step: number; metrics: Record<string, number>; best: boolean }
  | { type: 'checkpoint'; step: number; dir: string }
  | { type: 'stop'; step: number; reason: StopReason };

export type StopReason = 'completed' | 'early-stopping' | 'target-reached' | 'aborted';

export interface EarlyStopping {
  /** Metric name returned by `evaluate`. */
  metric: string;
  mode: 'min' | 'max';
  /** Stop after this many evaluations without improvement; default: never. */
  patience?: number;
  /** Stop as soon as the metric reaches this value. */
  target?: number;
}

export interface TrainerOptions {
  /** Total optimizer steps (including steps done before a resume). */
  steps: number;
  /** Peak learning rate. */
  learningRate: number;
  /** Default: constant. */
  schedule?: Schedule;
  optimizer?: AdamWOptions;
  /** ε of label smoothing; default 0. */
  labelSmoothing?: number;
  /** Max global gradient norm; default 1; null disables clipping. */
  clipNorm?: number | null;
  /**
   * Gradient accumulation: each step's batch runs as this many micro-batches (rows split as
   * evenly as possible), their gradients summed, each weighted by its share of the batch's
   * counted labels, before one optimizer step — the gradient of the whole batch with the
   * activations of one micro-batch alive at a time. Default 1.
   */
  gradAccum?: number;
  /**
   * Data-parallel worker threads (Node only): each computes the gradients of 1/workers of a
   * step's batch rows (with `gradAccum`, in that many micro-batches of its share) on its own tfjs
   * backend and copy of the model, then takes the AdamW step of 1/workers of the parameters,
   * summing the workers' gradients in a fixed order, so a run is deterministic for a seed and a
   * number of workers. The model gets the new weights when it is evaluated, saved or trained. The
   * model must be one `createModel` builds from its config. Default 1: no threads.
   */
  workers?: number;
  /**
   * Bytes a training step may use (in each worker's heap with `workers`). Before the first step,
   * core's estimate of that step (`memoryFit`: from the model's config and the first batch's rows
   * and lengths, one micro-batch of each worker's share) is checked against it, and a step over it
   * is refused with a TrainingError naming the gradAccum (or the batch) that fits. Default: on the
   * tfjs wasm backend its heap's training budget (core's TRAINING_MEMORY_BUDGET, 4 GiB less 10%);
   * on other backends no check. Infinity: no check (the estimate is an upper bound: a step it
   * refuses may still fit the heap).
   */
  memoryLimit?: number;
  /** Evaluate every this many steps (and at the end); default: only at the end. */
  evalEvery?: number;
  evaluate?: (model: AttendModel, step: number) => Promise<Record<string, number>> | Record<string, number>;
  earlyStopping?: EarlyStopping;
  /**
   * Folder to checkpoint into (at each eval and at the end), with the tokenizer JSON to store,
   * and `files`: more files written into the folder with each save (e.g. a loss plot), atomically
   * with the checkpoint.
   */
  checkpoint?: { dir: string; tokenizer?: unknown; every?: number; files?: (state: TrainerState) => Promise<Record<string, Uint8Array>> | Record<string, Uint8Array> };
  /** Continue from the checkpoint in `checkpoint.dir` when it exists. */
  resume?: boolean;
  /** Report a 'step' event every this many steps; default 10. */
  logEvery?: number;
  onProgress?: (event: TrainingEvent) => void;
  /**
   * Stops training before the next step once aborted. With a signal the loop lets other tasks
   * run at least every 25 ms, so an abort from an event (a worker message, SIGINT) gets through.
   */
  signal?: AbortSignal;
}

/** How long the loop runs steps without letting an abort from an event handler in. */
const YIELD_EVERY_MS = 25;

const nextTask = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

export interface TrainingResult {
  state: TrainerState;
  reason: StopReason;
}

/** Raised when training cannot go on (a NaN/Inf loss); the last good checkpoint is kept. */
export class TrainingError extends AttendError {
  override readonly name = 'TrainingError';
}

/**
 * Trains `model` in place. `nextBatch(step)` returns the batch of 1-based `step`; making it a
 * pure function of the step makes a resumed run see the same data as an uninterrupted one.
 */
export async function train(model: AttendModel, nextBatch: (step: number) => TrainBatch, options: TrainerOptions): Promise<TrainingResult> {
  const workers = options.workers ?? 1;
  if (!Number.isInteger(workers) || workers < 1) throw new TrainingError(`workers: ${workers} is not allowed; expected an integer >= 1`);
  // Worker copies would sample with the same step seed and keep their own baselines.
  if (workers > 1 && model.trainingLoss) throw new TrainingError(`workers: ${workers}; a model with its own training objective (trainingLoss) trains on one thread`);
  const limit = options.memoryLimit;
  if (limit !== undefined && !(limit > 0)) throw new TrainingError(`memoryLimit: ${limit} is not allowed; expected bytes > 0 (or Infinity: no check)`);
  return trainOn(model, nextBatch, options, workers);
}

/**
 * Refuses a step of `batch` whose memory estimate (core's memoryFit: one micro-batch of each
 * worker's share, with the weights, gradients and moments) is over the budget — `memoryLimit`,
 * or by default the tfjs wasm heap's — in one line naming the batch, the estimate, the budget and the
 * gradAccum (or batch) that fits, or what to shrink when not even one example does.
 */
function checkMemory(config: ModelConfig, batch: TrainBatch, o: { gradAccum: number; workers: number; memoryLimit?: number }): void {
  const budget = o.memoryLimit ?? trainingBudget(tf.getBackend());
  if (budget === Infinity) return;
  const lengths = batchLengths({ input: batch.input.seqLen, ...(batch.target ? { target: batch.target.seqLen } : {}) });
  const fit = memoryFit(config, lengths, { batchSize: batch.input.batchSize, gradAccum: o.gradAccum, workers: o.workers, budget });
  if (fit.fits) return;
  // The estimate is an upper bound (the largest overhead measured): a caller on the default budget learns how to try anyway.
  const holds = budget === o.memoryLimit ? `memoryLimit is ${formatGiB(budget)}` : `the tfjs wasm heap holds ${formatGiB(WASM_HEAP_BYTES)} (${formatGiB(budget)} for training; the estimate is an upper bound, memoryLimit: Infinity skips it)`;
  const tokens = lengths.context === lengths.source ? `${lengths.context} positions` : `source ${lengths.source}, target ${lengths.context} positions`;
  const rows = `a batch of ${batch.input.batchSize} rows of ${tokens}`;
  if (fit.largestMicroBatch === 0) {
    const one = fit.oneExample;
    throw new TrainingError(`memory: ${rows}; one example needs ~${formatGiB(one.bytes)} to train this model (${Math.round(one.parameters).toLocaleString('en-US')} parameters); ${holds}; lower dModel, the layers, the sequence length or the vocabulary`);
  }
  const split = [o.workers > 1 && ` on ${o.workers} workers (${fit.share} rows each)`, o.gradAccum > 1 && ` in micro-batches of ${fit.microBatch}`].filter(Boolean).join('');
  throw new TrainingError(`memory: ${rows}${split} needs ~${formatGiB(fit.bytes)}${o.workers > 1 ? ' per worker' : ''}; ${holds}; gradAccum ${fit.gradAccum} fits (micro-batches of at most ${Math.ceil(fit.share / fit.gradAccum)}), or a batch of ${fit.batchSize} rows`);
}

/**
 * The one-line error for a step whose tensors did not fit the tfjs wasm heap (at most 4 GiB):
 * the backend's WebAssembly then fails with "memory access out of bounds" or "Aborted(…)",
 * which would otherwise end the process with a stack trace. Undefined for any other error.
 * `train` estimates the memory before its first step (checkMemory); a step the estimate passes
 * that still runs out (a later batch longer than the first, a backend's own overhead) ends here.
 */
function heapExhausted(error: unknown, step: number, gradAccum: number): TrainingError | undefined {
  const message = error instanceof Error ? error.message : String(error);
  if (!/memory access out of bounds|(^|: )Aborted\(|Cannot enlarge memory|out of memory/i.test(message)) return undefined;
  return new TrainingError(`step ${step}: the tfjs backend ran out of memory (${message.split('\n')[0]}); a step must fit the wasm heap (at most 4 GiB): split the batch into more micro-batches (gradAccum, now ${gradAccum}) or lower the batch size or context (core's trainingMemory estimates a step)`);
}

/** `train`, with the steps taken by `workers` worker threads when above 1. */
async function trainOn(model: AttendModel, nextBatch: (step: number) => TrainBatch, options: TrainerOptions, workers: number): Promise<TrainingResult> {
  const schedule = options.schedule ?? { kind: 'constant' };
  const clipNorm = clipNormOf(options);
  const gradAccum = options.gradAccum ?? 1;
  if (!Number.isInteger(gradAccum) || gradAccum < 1) throw new TrainingError(`gradAccum: ${gradAccum} is not allowed; expected an integer >= 1`);
  const logEvery = options.logEvery ?? 10;
  const optimizer = new AdamW(options.optimizer);
  const params = model.namedParams();
  const variables = model.trainableVariables();
  let state: TrainerState = { step: 0, evals: [], losses: [], badEvals: 0 };
  let lastGoodCheckpoint: number | undefined;
  let fromCheckpoint = false;

  if (options.resume && options.checkpoint && (await checkpointExists(options.checkpoint.dir))) {
    const dir = options.checkpoint.dir;
    const resumed = await loadCheckpoint(dir);
    const differing = (Object.keys(model.config) as (keyof typeof model.config)[]).find((k) => JSON.stringify(resumed.config[k]) !== JSON.stringify(model.config[k]));
    if (differing) {
      resumed.model.dispose();
      throw new TrainingError(`${dir}: cannot resume, checkpoint has ${differing}=${JSON.stringify(resumed.config[differing])} but the model has ${JSON.stringify(model.config[differing])}`);
    }
    const saved = resumed.model.namedParams();
    params.forEach((p, i) => p.variable.assign(saved[i]!.variable));
    resumed.model.dispose();
    if (resumed.optimizer) optimizer.load(resumed.optimizer.step, resumed.optimizer.m, resumed.optimizer.v, params);
    if (resumed.trainerState) state = resumed.trainerState;
    lastGoodCheckpoint = state.step;
    fromCheckpoint = true;
  }

  // The first step's batch, made once: its rows and lengths are estimated before any step (and
  // before the workers start), then it is trained on.
  let firstBatch = state.step < options.steps ? nextBatch(state.step + 1) : undefined;
  try {
    if (firstBatch) checkMemory(model.config, firstBatch, { gradAccum, workers, memoryLimit: options.memoryLimit });
  } catch (error) {
    optimizer.dispose(); // a resumed run's moments
    throw error;
  }
  const pool = workers > 1 ? await startWorkers(model, { workers, gradAccum, labelSmoothing: options.labelSmoothing, optimizer: new AdamW(options.optimizer), clipNorm }) : undefined;
  if (pool && fromCheckpoint) pool.load(params, optimizer);
  try {
    const emit = (event: TrainingEvent): void => options.onProgress?.(event);
    // Training time carries over a resume: elapsed = the saved runs' time + this run's.
    const started = performance.now();
    const elapsedBefore = state.elapsedMs ?? 0;
    const elapsedMs = (): number => elapsedBefore + performance.now() - started;
    // Mean training loss of the steps since the last evaluation, reported with it.
    let lossSum = 0;
    let lossSteps = 0;
    const save = async (): Promise<void> => {
      if (!options.checkpoint) return;
      pool?.sync(params, optimizer);
      state.elapsedMs = elapsedMs();
      const files = await options.checkpoint.files?.(state);
      await saveCheckpoint(options.checkpoint.dir, { model, tokenizer: options.checkpoint.tokenizer, trainerState: state, optimizer }, files);
      lastGoodCheckpoint = state.step;
      emit({ type: 'checkpoint', step: state.step, dir: options.checkpoint.dir });
    };
    const evaluate = async (): Promise<StopReason | undefined> => {
      if (!options.evaluate) return undefined;
      pool?.sync(params, optimizer);
      const metrics = await options.evaluate(model, state.step);
      state.evals.push({ step: state.step, metrics, elapsedS: Math.round(elapsedMs()) / 1000, ...(lossSteps > 0 ? { trainLoss: lossSum / lossSteps } : {}) });
      lossSum = 0;
      lossSteps = 0;
      const es = options.earlyStopping;
      let best = false;
      if (es) {
        const value = metrics[es.metric];
        if (value === undefined) throw new TrainingError(`earlyStopping.metric '${es.metric}' is not among the evaluated metrics (${Object.keys(metrics).join(', ')})`);
        const better = state.best === undefined || (es.mode === 'min' ? value < state.best.value : value > state.best.value);
        if (better) {
          state.best = { metric: es.metric, value, step: state.step };
          state.badEvals = 0;
          best = true;
        } else {
          state.badEvals += 1;
        }
        emit({ type: 'eval', step: state.step, metrics, best });
        if (es.target !== undefined && (es.mode === 'min' ? value <= es.target : value >= es.target)) return 'target-reached';
        if (es.patience !== undefined && state.badEvals >= es.patience) return 'early-stopping';
      } else {
        emit({ type: 'eval', step: state.step, metrics, best });
      }
      return undefined;
    };

    let reason: StopReason = 'completed';
    let windowStart = performance.now();
    let windowTokens = 0;
    let yielded = started;
    while (state.step < options.steps) {
      if (options.signal && performance.now() - yielded >= YIELD_EVERY_MS) {
        await nextTask();
        yielded = performance.now();
      }
      if (options.signal?.aborted) {
        reason = 'aborted';
        break;
      }
      const step = state.step + 1;
      const batch = firstBatch ?? nextBatch(step);
      firstBatch = undefined;
      const lr = learningRate(schedule, options.learningRate, step);
      let result: { loss: number; gradNorm: number };
      try {
        result = pool ? await pool.step(batch, step, lr, optimizer) : await localStep(model, batch, step, lr, { variables, params, optimizer, gradAccum, labelSmoothing: options.labelSmoothing, clipNorm });
      } catch (error) {
        throw heapExhausted(error, step, gradAccum) ?? error;
      }
      const { loss, gradNorm } = result;
      if (!Number.isFinite(loss)) {
        pool?.sync(params, optimizer);
        const kept = lastGoodCheckpoint === undefined ? 'no checkpoint was written yet' : `last good checkpoint: ${options.checkpoint?.dir} (step ${lastGoodCheckpoint})`;
        optimizer.dispose();
        throw new TrainingError(`loss is ${loss} at step ${step}; stopped before applying that update (${kept}). Try a lower learning rate or gradient clipping.`);
      }
      state.step = step;
      lossSum += loss;
      lossSteps++;
      windowTokens += countedLabels(batch);
      if (step % logEvery === 0 || step === options.steps) {
        const now = performance.now();
        state.losses.push({ step, loss });
        emit({ type: 'step', step, totalSteps: options.steps, loss, lr, gradNorm, tokensPerSecond: (windowTokens * 1000) / Math.max(now - windowStart, 1e-3), elapsedMs: elapsedMs() });
        windowStart = now;
        windowTokens = 0;
      }
      const evalNow = options.evalEvery !== undefined && step % options.evalEvery === 0;
      if (evalNow) {
        const stop = await evaluate();
        await save();
        if (stop) {
          reason = stop;
          break;
        }
      } else if (options.checkpoint?.every !== undefined && step % options.checkpoint.every === 0) {
        await save();
      }
    }
    pool?.sync(params, optimizer);
    const lastEval = state.evals[state.evals.length - 1];
    const finalEval = reason === 'completed' && options.evaluate !== undefined && lastEval?.step !== state.step;
    if (finalEval) {
      const stop = await evaluate();
      if (stop) reason = stop;
    }
    // A final evaluation is saved even at a step already checkpointed (its metrics.jsonl line).
    if (lastGoodCheckpoint !== state.step || finalEval) await save();
    emit({ type: 'stop', step: state.step, reason });
    optimizer.dispose();
    return { state, reason };
  } finally {
    await pool?.close();
  }
}

/** The max global gradient norm of `options` (default 1; null: no clipping). */
function clipNormOf(options: TrainerOptions): number | null {
  return options.clipNorm === undefined ? 1 : options.clipNorm;
}

/** The data-parallel workers (their module is loaded only here: it needs Node's worker_threads). */
async function startWorkers(model: AttendModel, options: Parameters<typeof GradientWorkers.start>[1]): Promise<GradientWorkers> {
  if (typeof process === 'undefined' || !process.versions?.node) throw new TrainingError(`workers: ${options.workers} worker threads need Node; in the browser training keeps one thread (workers: 1)`);
  const specifier = './data-parallel.js';
  const { GradientWorkers: Workers } = (await import(/* @vite-ignore */ specifier)) as typeof import('./data-parallel.js');
  return Workers.start(model, options);
}

/**
 * Loss and gradients of `batch`, in `parts` micro-batches whose gradients are summed with the
 * weight of each one's counted labels (so the sum is the whole batch's mean-loss gradient);
 * the gradients are undefined when the loss is not finite (or nothing was counted).
 * `total`: the counted labels of the whole batch when `batch` is one data-parallel worker's
 * share of it (its loss and gradients are then its part of the whole batch's mean); default:
 * `batch` is the whole batch.
 */
export function batchGradients(model: AttendModel, batch: TrainBatch, variables: tf.Variable[], parts: number, labelSmoothing: number | undefined, step: number, total?: number): { loss: number; grads?: Record<string, tf.Tensor> } {
  const { losses, grads } = gradientTensors(model, batch, variables, parts, labelSmoothing, step, total);
  const loss = sumLosses(losses.map((value) => value.dataSync()));
  return finiteGradients(loss, losses, grads);
}

/**
 * What `batchGradients` computes, before any value is read: each micro-batch's (weighted) loss
 * and the summed gradients. The trainer's own step reads the losses asynchronously, as a backend
 * without fast synchronous reads (WebGPU) needs.
 */
function gradientTensors(model: AttendModel, batch: TrainBatch, variables: tf.Variable[], parts: number, labelSmoothing: number | undefined, step: number, total?: number): { losses: tf.Scalar[]; grads?: Record<string, tf.Tensor> } {
  const weighted = parts > 1 || total !== undefined;
  const denominator = !weighted ? 1 : total ?? countedLabels(batch);
  const losses: tf.Scalar[] = [];
  let sum: Record<string, tf.Tensor> | undefined;
  for (const part of parts === 1 ? [batch] : microBatches(batch, parts)) {
    const weight = weighted ? countedLabels(part) / denominator : 1;
    if (weight === 0) continue; // only padding: adds nothing to the mean
    const partLoss = (): tf.Scalar => batchLoss(model, part, { training: true, labelSmoothing, step });
    // The whole batch in one part is the step as it always was: no weighting op in its graph.
    const { value, grads } = tf.variableGrads(weighted ? () => tf.mul(partLoss(), weight) as tf.Scalar : partLoss, variables);
    losses.push(value);
    if (sum === undefined) {
      sum = grads;
      continue;
    }
    const previous: Record<string, tf.Tensor> = sum;
    sum = Object.fromEntries(Object.entries(grads).map(([name, g]) => [name, tf.add(previous[name]!, g)]));
    tf.dispose([previous, grads]);
  }
  return { losses, grads: sum };
}

/** The step's loss: the micro-batches' read values added in order (the same number however they were read). */
function sumLosses(values: readonly ArrayLike<number>[]): number {
  let loss = 0;
  for (const value of values) loss += value[0]!;
  return loss;
}

/** Disposes the read `losses`, and `grads` too when `loss` is not finite. */
function finiteGradients(loss: number, losses: tf.Scalar[], grads: Record<string, tf.Tensor> | undefined): { loss: number; grads?: Record<string, tf.Tensor> } {
  tf.dispose(losses);
  if (Number.isFinite(loss)) return grads ? { loss, grads } : { loss };
  tf.dispose(grads ?? {});
  return { loss };
}

/**
 * One optimizer step on the main thread: gradients, the loss read asynchronously, then (when it
 * is finite) clipping and the update; the gradient norm is read the same way.
 */
async function localStep(model: AttendModel, batch: TrainBatch, step: number, lr: number, o: { variables: tf.Variable[]; params: ReturnType<AttendModel['namedParams']>; optimizer: AdamW; gradAccum: number; labelSmoothing?: number; clipNorm: number | null }): Promise<{ loss: number; gradNorm: number }> {
  const computed = tf.tidy(() => withDropoutSeed(stepDropoutSeed(step, 0), () => gradientTensors(model, batch, o.variables, o.gradAccum, o.labelSmoothing, step)));
  const { loss, grads } = finiteGradients(sumLosses(await Promise.all(computed.losses.map((value) => value.data()))), computed.losses, computed.grads);
  if (!grads) return { loss, gradNorm: NaN };
  const norm = tf.tidy(() => {
    const clipped = o.clipNorm === null ? { grads, norm: undefined } : clipByGlobalNorm(grads, o.clipNorm);
    o.optimizer.apply(o.params, clipped.grads, lr);
    return clipped.norm;
  });
  tf.dispose(grads);
  if (!norm) return { loss, gradNorm: NaN };
  const gradNorm = (await norm.data())[0]!;
  norm.dispose();
  return { loss, gradNorm };
}

/** `batch` split into `parts` batches of consecutive rows (sizes differing by at most one; never empty). */
export function microBatches(batch: TrainBatch, parts: number): TrainBatch[] {
  const B = batch.input.batchSize;
  if (parts > B) throw new TrainingError(`gradAccum: ${parts} micro-batches cannot split a batch of ${B} rows; use at most ${B}`);
  const rows = (r0: number, r1: number) => <T extends Int32Array | Float32Array>(values: T, perRow: number): T => values.subarray(r0 * perRow, r1 * perRow) as T;
  const tokens = (b: TokenBatch, take: ReturnType<typeof rows>, n: number): TokenBatch => ({
    ids: b.ids.length === 0 ? b.ids : take(b.ids, b.seqLen),
    batchSize: n,
    seqLen: b.seqLen,
    ...(b.lengths ? { lengths: take(b.lengths, 1) } : {}),
    ...(b.pixels ? { pixels: take(b.pixels, b.pixels.length / b.batchSize) } : {}),
    ...(b.tokenTypes ? { tokenTypes: take(b.tokenTypes, b.seqLen) } : {}),
  });
  const perRow = batch.labels.length / B;
  const out: TrainBatch[] = [];
  for (let p = 0; p < parts; p++) {
    const r0 = Math.floor((p * B) / parts);
    const r1 = Math.floor(((p + 1) * B) / parts);
    const take = rows(r0, r1);
    out.push({
      input: tokens(batch.input, take, r1 - r0),
      ...(batch.target ? { target: tokens(batch.target, take, r1 - r0) } : {}),
      labels: take(batch.labels, perRow),
      ...(batch.labelWeights ? { labelWeights: take(batch.labelWeights, perRow) } : {}),
    });
  }
  return out;
}

/** The label positions of `batch` that count in its mean loss (its labels less padding). */
export function countedLabels(batch: TrainBatch): number {
  return batch.labelWeights ? countOnes(batch.labelWeights) : batch.labels.length;
}

function countOnes(w: Float32Array): number {
  let n = 0;
  for (const x of w) n += x;
  return n;
}

