// In-page training: a synthetic seq2seq task and a tiny encoder–decoder, trained with
// @attend/transformer's trainer, then exported with attention outputs by @attend/runtime-onnx
// (in memory: the transformers.js-layout folder as bytes) — the page runs the result with
// onnxruntime-web like any other export. Runs in a worker (train-worker.ts) and in Node (tests).

import * as tf from '@tensorflow/tfjs-core';
import { CharTokenizer, createModelConfig, syntheticTask, trainDevSplit } from '@attend/core';
import { exportFolderFiles } from '@attend/runtime-onnx';
import { seq2seqTask, serializeCheckpointAsync, train, TransformerModel } from '@attend/transformer';
import { checkTrainRequest, type TrainEvent, type TrainRequest } from './train-check.js';

export * from './train-check.js';

/**
 * Trains the requested model, reporting progress; returns the export folder's files. Aborting
 * `signal` stops after the current step: the model trained so far is evaluated and exported
 * ('done' with `stopped`), or, when no step ran yet, nothing is (a 'stopped' event, no files).
 */
export async function trainAndExport(request: TrainRequest, emit: (event: TrainEvent) => void, signal?: AbortSignal): Promise<Record<string, Uint8Array> | undefined> {
  const r = checkTrainRequest(request);
  const maxLength = r.task === 'date' ? 40 : r.maxLength;
  const pairs = syntheticTask(r.task, { count: 4200, seed: r.seed, minLength: 3, maxLength: r.maxLength });
  const split = trainDevSplit(pairs, { devFraction: 200 / pairs.length, seed: r.seed, key: (p) => p.source });
  const tokenizer = CharTokenizer.fromCorpus(pairs.flatMap((p) => [p.source, p.target]));
  const config = createModelConfig({
    preset: 'encoder-decoder',
    vocabSize: tokenizer.vocabSize,
    dModel: r.dModel,
    numHeads: r.numHeads,
    numEncoderLayers: r.layers,
    numDecoderLayers: r.layers,
    dFf: 4 * r.dModel,
    maxSeqLen: maxLength + 8,
    dropout: 0,
  });
  const maxTgtLen = r.task === 'date' ? 12 : maxLength;
  const task = seq2seqTask(split.train, split.dev, tokenizer, { batchSize: 32, seed: r.seed, maxSrcLen: maxLength, maxTgtLen });
  const model = new TransformerModel(config, { seed: r.seed });
  try {
    emit({ type: 'data', train: split.train.length, dev: split.dev.length, vocabSize: tokenizer.vocabSize, parameters: model.parameterCount(), examples: split.dev.slice(0, 6) });
    const started = performance.now();
    const { state, reason } = await train(model, task.nextBatch, {
      steps: r.steps,
      learningRate: r.learningRate,
      schedule: { kind: 'cosine', warmupSteps: Math.min(20, Math.floor(r.steps / 5)), totalSteps: r.steps, minLr: r.learningRate / 20 },
      logEvery: 1,
      ...(signal ? { signal } : {}),
      onProgress: (e) => {
        if (e.type === 'step') emit({ type: 'step', step: e.step, totalSteps: e.totalSteps, loss: e.loss, tokensPerSecond: e.tokensPerSecond });
      },
    });
    const seconds = (performance.now() - started) / 1000;
    const stopped = reason === 'aborted';
    if (stopped && state.step === 0) {
      emit({ type: 'stopped', step: 0 });
      return undefined;
    }
    const { exactMatch } = await task.evaluate(model);
    // Read asynchronously: tfjs-webgpu's synchronous read goes through a canvas copy (zeros on SwiftShader in a worker).
    const checkpoint = await serializeCheckpointAsync({ model, tokenizer: tokenizer.toJSON() });
    const files = exportFolderFiles(checkpoint, { withAttention: true });
    emit({ type: 'done', exactMatch, seconds, steps: state.step, stopped, backend: tf.getBackend(), files });
    return files;
  } finally {
    model.dispose();
  }
}
