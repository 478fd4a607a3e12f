// One data-parallel training worker (see data-parallel.ts): builds its copy of the model on its
// own tfjs backend, then for each step reads the weights from shared memory, computes the
// gradients of its share of the batch (in `gradAccum` micro-batches, weighted by their part of the
// whole batch's counted labels) and writes them into its shared gradient buffer; when every
// worker's gradients are in, it sums them over its own shard of the parameters (the main thread
// adds the shards' squares into the global norm), then takes the AdamW step of its shard of the
// weights and moments (sharded-adamw.ts). Dropout masks are seeded by the step and the worker's index
// (ops.ts `withDropoutSeed`), so a run is deterministic for a number of workers.

import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { setupBackend, type BackendName } from './backend.js';
import { createModel } from './models.js';
import { stepDropoutSeed, withDropoutSeed } from './ops.js';
import { adamWShard, shardGradient, shardRange, type FlatParam } from './sharded-adamw.js';
import { batchGradients } from './trainer.js';
import type { StepRequest, WorkerReply, WorkerSetup } from './data-parallel.js';

const setup = workerData as WorkerSetup;
const port = parentPort!;
const send = (reply: WorkerReply): void => port.postMessage(reply);
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
  const params: FlatParam[] = setup.slots.map((s) => ({ offset: s.offset, size: s.size, decay: s.shape.length >= 2 }));
  const shard = shardRange(weights.length, setup.index, grads.length);
  // The summed gradient of this worker's shard, from its 'sum' request to its 'update'.
  const sum = new Float32Array(shard[1] - shard[0]);
  let present: boolean[][] = [];

  const gradients = (request: Extract<StepRequest, { type: 'grads' }>): WorkerReply => {
    return withDropoutSeed(stepDropoutSeed(request.step, setup.index), () => tf.tidy(() => {
      variables.forEach((v, i) => {
        const { offset, size } = setup.slots[i]!;
        v.assign(tf.tensor(weights.subarray(offset, offset + size), v.shape));
      });
      const r = batchGradients(model, request.share, learned, setup.gradAccum, setup.labelSmoothing, request.step, request.total);
      const present = variables.map((v, i) => {
        const g = r.grads?.[v.name];
        if (g) own.set(g.dataSync() as Float32Array, setup.slots[i]!.offset);
        return g !== undefined;
      });
      return { type: 'done' as const, loss: r.loss, present };
    }));
  };

  const update = (request: Exclude<StepRequest, { type: 'grads' }>): WorkerReply => {
    if (request.type === 'sum') {
      present = request.present;
      return { type: 'summed', squares: shardGradient(params, shard, { grads, present }, sum) };
    }
    adamWShard(params, shard, state, { sum, present }, request, setup.optimizer);
    return { type: 'updated' };
  };

  port.on('message', (request: StepRequest) => {
    try {
      send(request.type === 'grads' ? gradients(request) : update(request));
    } catch (error) {
      send({ type: 'error', message: firstLine(error) });
    }
  });
  send({ type: 'ready' });
} catch (error) {
  send({ type: 'error', message: firstLine(error) });
}
