// Data-parallel training in Node: N worker threads (data-parallel-worker.ts), each with its own
// tfjs backend and a copy of the model, each computing the gradients of 1/N of a step's batch
// rows, then each taking the AdamW step of its own 1/N of the parameters (sharded-adamw.ts).
// Weights, moments and gradients live in SharedArrayBuffers, not messages: the weights are
// written once and the workers update them in place, each summing the workers' gradients of its
// shard in worker order (deterministic for a given N). A step is one message to each worker and
// one reply: within it the workers meet at a shared-memory barrier (step-barrier.ts) once their
// gradients and losses are written, and again once their shards' sums of squares (the global
// norm) are. The main thread only sends the batch and copies weights and moments back into the
// model and its optimizer when it evaluates or saves (`sync`). Node only: the browser keeps one
// thread. The trainer imports this module only when `workers` > 1.

import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from '@attend/core';
import type { AttendModel } from './models.js';
import type { AdamW } from './optimizer.js';
import type { AdamWHyper } from './sharded-adamw.js';
import { barrierBuffer } from './step-barrier.js';
import { countedLabels, microBatches, TrainingError, type TrainBatch } from './trainer.js';

/** Where each parameter lies in the flat weight, moment and gradient buffers (floats). */
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
  /** The model's weights: written by the main thread at the start, then by each worker in its shard. */
  weights: SharedArrayBuffer;
  /** AdamW's first and second moments, laid out as the weights. */
  m: SharedArrayBuffer;
  v: SharedArrayBuffer;
  /** Every worker's gradients (this one writes `grads[index]`; each reads all of them in its shard). */
  grads: SharedArrayBuffer[];
  /** present[w · params + p] = 1: worker w computed a gradient of parameter p this step (uint8). */
  present: SharedArrayBuffer;
  /** Each worker's loss this step (float64, one per worker). */
  losses: SharedArrayBuffer;
  /** Each worker's sum of squares of its shard's summed gradient this step (float64, one per worker). */
  squares: SharedArrayBuffer;
  /** The `StepBarrier` the workers meet at within a step. */
  barrier: SharedArrayBuffer;
  gradAccum: number;
  labelSmoothing?: number;
  optimizer: AdamWHyper;
  /** The max global gradient norm (null: not clipped). */
  clipNorm: number | null;
}

/**
 * A step's work for one worker: the gradients of its share of the batch's rows (none: a batch of
 * fewer rows than workers), then, when the whole batch's loss is finite, the AdamW step of its
 * shard at optimizer step `t` (1-based) and learning rate `lr`.
 */
export interface StepRequest {
  step: number;
  share?: TrainBatch;
  /** Counted labels of the whole batch, the denominator of every share's mean. */
  total: number;
  t: number;
  lr: number;
}

/** A worker's messages to the main thread; every worker's 'done' carries the same whole-batch loss and gradient norm. */
export type WorkerReply =
  | { type: 'ready' }
  | { type: 'done'; loss: number; norm: number }
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
 * N worker threads training together. The model must be one `createModel` builds from its config
 * (every registered kind is); the workers' copies start from its weights.
 */
export class GradientWorkers {
  private readonly weights: Float32Array;
  private readonly m: Float32Array;
  private readonly v: Float32Array;
  /** The parameters that have had a gradient (those AdamW keeps moments of). */
  private readonly seen: boolean[];
  private readonly present: Uint8Array;
  private failure?: TrainingError;
  private pending = new Map<number, { resolve: (reply: WorkerReply) => void; reject: (error: Error) => void }>();
  private closing = false;

  private constructor(private readonly workers: Worker[], private readonly slots: ParamSlot[], buffers: Pick<WorkerSetup, 'weights' | 'm' | 'v' | 'present'>, private readonly clipNorm: number | null) {
    this.weights = new Float32Array(buffers.weights);
    this.m = new Float32Array(buffers.m);
    this.v = new Float32Array(buffers.v);
    this.present = new Uint8Array(buffers.present);
    this.seen = slots.map(() => false);
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

  /**
   * Starts `workers` threads with copies of `model` (its current weights, fresh moments), each set
   * up with the main thread's backend and `optimizer`'s hyperparameters.
   */
  static async start(model: AttendModel, options: { workers: number; gradAccum: number; labelSmoothing?: number; optimizer: AdamWHyper; clipNorm: number | null }): Promise<GradientWorkers> {
    let offset = 0;
    const slots = model.namedParams().map((p) => {
      const slot = { name: p.name, shape: p.variable.shape, offset, size: p.variable.size };
      offset += p.variable.size;
      return slot;
    });
    const n = options.workers;
    const buffers = {
      weights: new SharedArrayBuffer(offset * 4), m: new SharedArrayBuffer(offset * 4), v: new SharedArrayBuffer(offset * 4),
      present: new SharedArrayBuffer(n * slots.length), losses: new SharedArrayBuffer(n * 8), squares: new SharedArrayBuffer(n * 8), barrier: barrierBuffer(),
    };
    const grads = Array.from({ length: n }, () => new SharedArrayBuffer(offset * 4));
    const { beta1, beta2, epsilon, weightDecay } = options.optimizer;
    const workers = grads.map((_, index) => {
      const setup: WorkerSetup = { index, config: model.config, backend: tf.getBackend(), slots, ...buffers, grads, gradAccum: options.gradAccum, labelSmoothing: options.labelSmoothing, optimizer: { beta1, beta2, epsilon, weightDecay }, clipNorm: options.clipNorm };
      return new Worker(WORKER_URL, { workerData: setup });
    });
    const pool = new GradientWorkers(workers, slots, buffers, options.clipNorm);
    pool.load(model.namedParams());
    try {
      await Promise.all(workers.map((_, i) => pool.reply(i)));
    } catch (error) {
      await pool.close();
      throw error;
    }
    return pool;
  }

  /** Writes the weights of `params` (and `optimizer`'s moments, when given: a resumed run) into the shared buffers. */
  load(params: readonly { name: string; variable: tf.Variable }[], optimizer?: AdamW): void {
    params.forEach(({ name, variable }, i) => {
      const { offset } = this.slots[i]!;
      this.weights.set(variable.dataSync() as Float32Array, offset);
      const m = optimizer?.m.get(name);
      const v = optimizer?.v.get(name);
      this.seen[i] = m !== undefined && v !== undefined;
      this.m.fill(0, offset, offset + variable.size);
      this.v.fill(0, offset, offset + variable.size);
      if (m) this.m.set(m.dataSync() as Float32Array, offset);
      if (v) this.v.set(v.dataSync() as Float32Array, offset);
    });
  }

  /**
   * One training step on `batch`: the workers compute the gradients of their shares (consecutive
   * rows), then, when the loss is finite, each sums them over its shard of the parameters and
   * (with the global norm, for clipping) takes that shard's AdamW step at learning rate `lr`,
   * counted in `optimizer.step`. Returns the whole batch's loss and the gradient norm before
   * clipping (NaN without clipping or update). The model and `optimizer` do not see the new
   * weights and moments until `sync`.
   */
  async step(batch: TrainBatch, step: number, lr: number, optimizer: AdamW): Promise<{ loss: number; gradNorm: number }> {
    const total = countedLabels(batch);
    // A batch of fewer rows than workers (a data set's last batch) goes to the first few.
    const shares = microBatches(batch, Math.min(this.workers.length, batch.input.batchSize));
    const t = optimizer.step + 1;
    const [reply] = await this.all((i) => ({ step, ...(i < shares.length ? { share: ownShare(shares[i]!) } : {}), total, t, lr }));
    const { loss, norm } = reply as Extract<WorkerReply, { type: 'done' }>;
    if (!Number.isFinite(loss)) return { loss, gradNorm: NaN };
    optimizer.step = t;
    this.present.forEach((p, i) => (this.seen[i % this.slots.length] ||= p === 1));
    return { loss, gradNorm: this.clipNorm === null ? NaN : norm };
  }

  /** Copies the shared weights into `params` and the moments into `optimizer` (to evaluate or save). */
  sync(params: readonly { name: string; variable: tf.Variable }[], optimizer: AdamW): void {
    const m: Record<string, Float32Array> = {};
    const v: Record<string, Float32Array> = {};
    params.forEach(({ name, variable }, i) => {
      const { offset, size } = this.slots[i]!;
      tf.tidy(() => variable.assign(tf.tensor(this.weights.subarray(offset, offset + size), variable.shape)));
      if (!this.seen[i]) return;
      m[name] = this.m.subarray(offset, offset + size);
      v[name] = this.v.subarray(offset, offset + size);
    });
    optimizer.load(optimizer.step, m, v, params);
  }

  /** Stops every worker. */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  /** Posts `request(i)` to each worker i and waits for all their replies. */
  private async all(request: (i: number) => StepRequest): Promise<WorkerReply[]> {
    return Promise.all(this.workers.map((worker, i) => {
      const message = request(i);
      const done = this.reply(i);
      worker.postMessage(message);
      return done;
    }));
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
