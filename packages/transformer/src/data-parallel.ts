// Data-parallel training in Node: N worker threads (data-parallel-worker.ts), each with its own
// tfjs backend and a copy of the model, each computing the gradients of 1/N of a step's batch
// rows. Weights go to the workers and gradients come back through SharedArrayBuffers, not
// messages; the gradients are summed here in worker order (deterministic for a given N), and the
// trainer takes one optimizer step on the main thread. Node only: the browser keeps one thread.
// The trainer imports this module only when `workers` > 1.

import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from '@attend/core';
import type { AttendModel } from './models.js';
import { countedLabels, microBatches, TrainingError, type TrainBatch } from './trainer.js';

/** Where each parameter lies in the flat weight and gradient buffers (floats). */
export interface ParamSlot {
  name: string;
  shape: number[];
  offset: number;
  size: number;
}

/** What a worker is started with (its `workerData`). */
export interface WorkerSetup {
  index: number;
  config: ModelConfig;
  backend: string;
  slots: ParamSlot[];
  /** The model's weights, written by the main thread before each step. */
  weights: SharedArrayBuffer;
  /** This worker's gradients, written by the worker in each step. */
  grads: SharedArrayBuffer;
  gradAccum: number;
  labelSmoothing?: number;
}

/** A step's work for one worker: its share of the batch's rows. */
export interface StepRequest {
  step: number;
  share: TrainBatch;
  /** Counted labels of the whole batch, the denominator of every share's mean. */
  total: number;
}

/** A worker's messages to the main thread. */
export type WorkerReply =
  | { type: 'ready' }
  | { type: 'done'; loss: number; present: boolean[] }
  | { type: 'error'; message: string };

/** Under vitest this module is TypeScript source; the workers then run the package's build. */
const WORKER_URL = import.meta.url.endsWith('.ts')
  ? new URL('../dist/data-parallel-worker.js', import.meta.url)
  : new URL('./data-parallel-worker.js', import.meta.url);

/** A share's typed arrays copied out of the batch's (a posted view would clone its whole buffer). */
function ownShare(share: TrainBatch): TrainBatch {
  const own = <T extends Int32Array | Float32Array>(a: T): T => a.slice() as T;
  const tokens = (b: TrainBatch['input']): TrainBatch['input'] => ({
    ...b,
    ids: own(b.ids),
    ...(b.lengths ? { lengths: own(b.lengths) } : {}),
    ...(b.pixels ? { pixels: own(b.pixels) } : {}),
    ...(b.tokenTypes ? { tokenTypes: own(b.tokenTypes) } : {}),
  });
  return {
    input: tokens(share.input),
    ...(share.target ? { target: tokens(share.target) } : {}),
    labels: own(share.labels),
    ...(share.labelWeights ? { labelWeights: own(share.labelWeights) } : {}),
  };
}

/**
 * N worker threads computing a step's gradients together. The model must be one `createModel`
 * builds from its config (every registered kind is); the workers' copies get its weights before
 * each step.
 */
export class GradientWorkers {
  private readonly weights: Float32Array;
  private readonly grads: Float32Array[];
  private failure?: TrainingError;
  private pending = new Map<number, { resolve: (reply: WorkerReply) => void; reject: (error: Error) => void }>();
  private closing = false;

  private constructor(private readonly workers: Worker[], private readonly slots: ParamSlot[], private readonly variables: tf.Variable[], weights: SharedArrayBuffer, grads: SharedArrayBuffer[]) {
    this.weights = new Float32Array(weights);
    this.grads = grads.map((g) => new Float32Array(g));
    workers.forEach((worker, i) => {
      worker.on('message', (reply: WorkerReply) => {
        if (reply.type === 'error') this.fail(new TrainingError(`worker ${i + 1} of ${workers.length}: ${reply.message}`));
        else this.settle(i, reply);
      });
      worker.on('error', (error) => this.fail(new TrainingError(`worker ${i + 1} of ${workers.length}: ${error.message.split('\n')[0]}`)));
      worker.on('exit', (code) => {
        if (!this.closing) this.fail(new TrainingError(`worker ${i + 1} of ${workers.length} exited (code ${code}) while training`));
      });
    });
  }

  /** Starts `workers` threads with copies of `model`, each set up with the main thread's backend. */
  static async start(model: AttendModel, options: { workers: number; gradAccum: number; labelSmoothing?: number }): Promise<GradientWorkers> {
    const variables = model.namedParams().map((p) => p.variable);
    let offset = 0;
    const slots = model.namedParams().map((p) => {
      const slot = { name: p.name, shape: p.variable.shape, offset, size: p.variable.size };
      offset += p.variable.size;
      return slot;
    });
    const weights = new SharedArrayBuffer(offset * 4);
    const grads = Array.from({ length: options.workers }, () => new SharedArrayBuffer(offset * 4));
    const workers = grads.map((g, index) => {
      const setup: WorkerSetup = { index, config: model.config, backend: tf.getBackend(), slots, weights, grads: g, gradAccum: options.gradAccum, labelSmoothing: options.labelSmoothing };
      return new Worker(WORKER_URL, { workerData: setup });
    });
    const pool = new GradientWorkers(workers, slots, variables, weights, grads);
    try {
      await Promise.all(workers.map((_, i) => pool.reply(i)));
    } catch (error) {
      await pool.close();
      throw error;
    }
    return pool;
  }

  /**
   * The whole batch's loss and, for each parameter, the workers' gradients of it in worker order
   * (views of their shared buffers, valid until the next call; empty for a parameter no worker
   * had a gradient for), the workers computing with the model's current weights; no gradients
   * when the loss is not finite. Each worker gets a share of consecutive rows.
   */
  async gradients(batch: TrainBatch, step: number): Promise<{ loss: number; grads?: Float32Array[][] }> {
    this.variables.forEach((v, i) => this.weights.set(v.dataSync() as Float32Array, this.slots[i]!.offset));
    const total = countedLabels(batch);
    // A batch of fewer rows than workers (a data set's last batch) goes to the first few.
    const shares = microBatches(batch, Math.min(this.workers.length, batch.input.batchSize));
    const replies = await Promise.all(shares.map((share, i) => {
      const done = this.reply(i);
      const request: StepRequest = { step, share: ownShare(share), total };
      this.workers[i]!.postMessage(request);
      return done;
    }));
    let loss = 0;
    for (const r of replies) if (r.type === 'done') loss += r.loss;
    if (!Number.isFinite(loss)) return { loss };
    const grads = this.slots.map((slot, p) =>
      replies.flatMap((r, w) => (r.type === 'done' && r.present[p] ? [this.grads[w]!.subarray(slot.offset, slot.offset + slot.size)] : [])));
    return { loss, grads };
  }

  /**
   * The summed gradient tensors keyed by variable name, as `tf.variableGrads` gives them: each
   * parameter's worker gradients added on the backend in worker order (a fixed order, so the same
   * sums each run).
   */
  tensors(grads: Float32Array[][]): Record<string, tf.Tensor> {
    const out: Record<string, tf.Tensor> = {};
    grads.forEach((parts, i) => {
      const shape = this.slots[i]!.shape;
      const [first, ...rest] = parts.map((g) => tf.tensor(g, shape));
      if (first) out[this.variables[i]!.name] = rest.reduce((sum, g) => tf.add(sum, g), first);
    });
    return out;
  }

  /** Stops every worker. */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private reply(i: number): Promise<WorkerReply> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => this.pending.set(i, { resolve, reject }));
  }

  private settle(i: number, reply: WorkerReply): void {
    const waiting = this.pending.get(i);
    this.pending.delete(i);
    waiting?.resolve(reply);
  }

  private fail(error: TrainingError): void {
    if (this.closing || this.failure) return;
    this.failure = error;
    for (const { reject } of this.pending.values()) reject(error);
    this.pending.clear();
  }
}
