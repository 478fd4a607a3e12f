// One data-parallel training worker (see data-parallel.ts): builds its copy of the model on its
// own tfjs backend, then for each step reads the weights from shared memory, computes the
// gradients of its share of the batch (in `gradAccum` micro-batches, weighted by their part of the
// whole batch's counted labels) and writes them into its shared gradient buffer; when every
// worker's gradients are in (the first barrier, step-barrier.ts), it sums them over its own shard
// of the parameters; when every shard's sum of squares is in (the second), it adds them into the
// global norm, as every worker does in the same order, and takes the AdamW step of its shard of
// the weights and moments (sharded-adamw.ts). Dropout masks are seeded by the step and the worker's index
// (ops.ts `withDropoutSeed`), so a run is deterministic for a number of workers.

import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { setupBackend, type BackendName } from './backend.js';
import { createModel } from './models.js';
import { stepDropoutSeed, withDropoutSeed } from './ops.js';
import { adamWShard, clipScale, shardGradient, shardRange, type FlatParam } from './sharded-adamw.js';
import { StepBarrier } from './step-barrier.js';
import { batchGradients, type TrainBatch } from './trainer.js';
import type { StepRequest, WorkerReply, WorkerSetup } from './data-parallel.js';

const setup = workerData as WorkerSetup;
const port = parentPort!;
const send = (reply: WorkerReply): void => port.postMessage(reply);
const barrier = new StepBarrier(setup.barrier, setup.grads.length);
const firstLine = (error: unknown): string => (error instanceof Error ? error.message : String(error)).split('\n')[0]!;

try {
  await setupBackend([setup.backend as BackendName]);
  const model = createModel(setup.config);
  const variables = model.namedParams().map((p) => p.variable);
  // Gradients only of what the model trains (LoRA: the adapters; frozen weights get none).
  const trainable = new Set(model.trainableVariables());
  const learned = variables.filter((v) => trainable.has(v));
  const names = model.namedParams().map((p) => p.name);
  if (names.join('\n') !== setup.slots.map((s) => s.name).join('\n')) throw new Error('the model copy has other parameters than the model trained');
  const weights = new Float32Array(setup.weights);
  const state = { weights, m: new Float32Array(setup.m), v: new Float32Array(setup.v) };
  const grads = setup.grads.map((g) => new Float32Array(g));
  const own = grads[setup.index]!;
  const P = setup.slots.length;
  const flags = new Uint8Array(setup.present);
  const ownFlags = flags.subarray(setup.index * P, (setup.index + 1) * P);
  const losses = new Float64Array(setup.losses);
  const squares = new Float64Array(setup.squares);
  const params: FlatParam[] = setup.slots.map((s) => ({ offset: s.offset, size: s.size, decay: s.shape.length >= 2 }));
  const shard = shardRange(weights.length, setup.index, grads.length);
  // The summed gradient of this worker's shard.
  const sum = new Float32Array(shard[1] - shard[0]);
  /** The sum of every worker's entry of `values`, in worker order (the same in every worker). */
  const inOrder = (values: Float64Array): number => values.reduce((a, b) => a + b, 0);

  /** This worker's share's gradients into its shared buffer and flags; returns the share's loss. */
  const gradients = (request: StepRequest, share: TrainBatch): number => {
    return withDropoutSeed(stepDropoutSeed(request.step, setup.index), () => tf.tidy(() => {
      variables.forEach((v, i) => {
        const { offset, size } = setup.slots[i]!;
        v.assign(tf.tensor(weights.subarray(offset, offset + size), v.shape));
      });
      const r = batchGradients(model, share, learned, setup.gradAccum, setup.labelSmoothing, request.step, request.total);
      variables.forEach((v, i) => {
        const g = r.grads?.[v.name];
        if (g) own.set(g.dataSync() as Float32Array, setup.slots[i]!.offset);
        ownFlags[i] = g ? 1 : 0;
      });
      return r.loss;
    }));
  };

  const step = (request: StepRequest): WorkerReply => {
    if (request.share) losses[setup.index] = gradients(request, request.share);
    else {
      losses[setup.index] = 0;
      ownFlags.fill(0);
    }
    barrier.wait();
    const loss = inOrder(losses);
    // Every worker sees the same loss: all skip the update together.
    if (!Number.isFinite(loss)) return { type: 'done', loss, norm: NaN };
    const present = grads.map((_, w) => Array.from(flags.subarray(w * P, (w + 1) * P), (f) => f === 1));
    squares[setup.index] = shardGradient(params, shard, { grads, present }, sum);
    barrier.wait();
    const norm = Math.sqrt(inOrder(squares));
    adamWShard(params, shard, state, { sum, present }, { t: request.t, lr: request.lr, scale: clipScale(norm, setup.clipNorm) }, setup.optimizer);
    return { type: 'done', loss, norm };
  };

  port.on('message', (request: StepRequest) => {
    try {
      send(step(request));
    } catch (error) {
      // The other workers wait at the barrier for this one until the main thread ends them all.
      send({ type: 'error', message: firstLine(error) });
    }
  });
  send({ type: 'ready' });
} catch (error) {
  send({ type: 'error', message: firstLine(error) });
}
