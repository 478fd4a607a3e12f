// The date-normalisation experiment behind `attend quickstart`: a small encoder–decoder trained
// on the built-in task ("march 3rd, 2021" → "2021-03-03"), returning its dev exact match, outputs
// and samples. Needs no data files: the task is generated in code.

import { CharTokenizer, createModelConfig, dateTask, trainDevSplit, type EncoderDecoderConfig } from '@attend/core';
import { TransformerModel } from './model.js';
import { seq2seqTask } from './seq2seq-task.js';
import { train } from './trainer.js';

export interface DateExperimentOptions {
  seed?: number;
  trainSize?: number;
  devSize?: number;
  steps?: number;
  batchSize?: number;
  /** Stop early once dev exact match reaches this fraction. */
  targetExactMatch?: number;
  evalEvery?: number;
  learningRate?: number;
  warmupSteps?: number;
  /** Overrides of the small default encoder–decoder. */
  model?: Partial<Omit<EncoderDecoderConfig, 'preset'>>;
  onLine?: (line: string) => void;
  /** Once aborted, training stops at the next step and the run rejects with the signal's reason (no final evaluation). */
  signal?: AbortSignal;
}

/** Trains the quickstart model; returns the dev exact match, samples and timing. Rejects once `signal` is aborted. */
export async function runDateExperiment(options: DateExperimentOptions = {}) {
  const seed = options.seed ?? 1;
  const log = options.onLine ?? (() => {});
  const pairs = dateTask({ count: (options.trainSize ?? 20000) + (options.devSize ?? 500), seed });
  const { train: trainPairs, dev } = trainDevSplit(pairs, { devFraction: (options.devSize ?? 500) / pairs.length, seed, key: (p) => p.source });
  const tokenizer = CharTokenizer.fromCorpus(pairs.flatMap((p) => [p.source, p.target]));
  const config = createModelConfig({
    preset: 'encoder-decoder',
    vocabSize: tokenizer.vocabSize,
    dModel: 64,
    numHeads: 4,
    numEncoderLayers: 1,
    numDecoderLayers: 1,
    dFf: 256,
    maxSeqLen: 48,
    dropout: 0,
    ...options.model,
  });
  const steps = options.steps ?? 1000;
  const task = seq2seqTask(trainPairs, dev, tokenizer, { batchSize: options.batchSize ?? 64, seed, maxSrcLen: 40, maxTgtLen: 12 });
  const model = new TransformerModel(config, { seed });
  const started = performance.now();
  const result = await train(model, task.nextBatch, {
    steps,
    learningRate: options.learningRate ?? 3e-3,
    schedule: { kind: 'cosine', warmupSteps: options.warmupSteps ?? 50, totalSteps: steps, minLr: 1e-4 },
    optimizer: { weightDecay: 0.01 },
    evalEvery: options.evalEvery ?? 100,
    evaluate: async (m) => ({ exactMatch: (await task.evaluate(m)).exactMatch }),
    earlyStopping: { metric: 'exactMatch', mode: 'max', target: options.targetExactMatch ?? 0.995 },
    logEvery: 50,
    ...(options.signal ? { signal: options.signal } : {}),
    onProgress: (e) => {
      if (e.type === 'step') log(`step ${e.step}/${e.totalSteps}  loss ${e.loss.toFixed(4)}  lr ${e.lr.toExponential(2)}  ${Math.round(e.tokensPerSecond)} tok/s`);
      if (e.type === 'eval') log(`eval @ ${e.step}: exact match ${(100 * (e.metrics.exactMatch ?? 0)).toFixed(2)}%`);
    },
  });
  if (result.reason === 'aborted') {
    model.dispose();
    options.signal!.throwIfAborted();
  }
  const seconds = (performance.now() - started) / 1000;
  const { exactMatch, outputs } = await task.evaluate(model);
  const failures = dev.map((p, i) => ({ ...p, output: outputs[i]! })).filter((s) => s.output !== s.target);
  const samples = dev.slice(0, 6).map((p, i) => ({ source: p.source, target: p.target, output: outputs[i]! }));
  return { model, tokenizer, config, exactMatch, outputs, dev, samples, failures, seconds, steps: result.state.step, reason: result.reason, parameters: model.parameterCount(), devSize: dev.length };
}
