// `attend train`: trains an encoder–decoder on a built-in synthetic task or a TSV of pairs with
// a character tokenizer, checkpointing into --out (at each eval and at the end); --resume
// continues a stopped run from its checkpoint with the same data order.

import { join } from 'node:path';
import {
  CharTokenizer,
  createModelConfig,
  readTsvPairs,
  syntheticTask,
  tokenizerFromJSON,
  trainDevSplit,
  type ModelConfig,
  type SyntheticTaskName,
  type TextPair,
  type Tokenizer,
} from '@attend/core';
import { checkpointExists, loadCheckpoint, seq2seqTask, setupBackend, train, TransformerModel } from '@attend/transformer';
import { CliError } from '../errors.js';
import { progressView } from '../progress.js';

export interface TrainCommandOptions {
  task?: SyntheticTaskName;
  pairs?: string;
  out: string;
  resume: boolean;
  dModel: number;
  heads: number;
  layers: number;
  steps: number;
  batchSize: number;
  lr: number;
  seed: number;
  evalEvery: number;
  /** Examples generated for a synthetic task. */
  examples: number;
  /** Largest dev set. */
  devSize: number;
}

/** Longest source or target accepted from --pairs, in characters: maxSeqLen follows the longest pair. */
const MAX_PAIR_CHARS = 1000;

async function loadData(o: TrainCommandOptions): Promise<TextPair[]> {
  if (o.task && o.pairs) throw new CliError('give either --task or --pairs, not both', 2);
  if (o.pairs) return readTsvPairs(o.pairs, { maxFieldLength: MAX_PAIR_CHARS });
  if (o.task) return syntheticTask(o.task, { count: o.examples, seed: o.seed });
  throw new CliError('no training data: give --task copy|reverse|sort|date or --pairs FILE.tsv', 2);
}

/**
 * The config, tokenizer and saved step of the run: from the checkpoint when resuming (loaded
 * whole, which also recovers a save cut between its two renames), else from the flags.
 */
async function modelSetup(o: TrainCommandOptions, pairs: readonly TextPair[], resuming: boolean): Promise<{ config: ModelConfig; tokenizer: Tokenizer; step: number }> {
  if (resuming) {
    const checkpoint = await loadCheckpoint(o.out);
    checkpoint.model.dispose();
    if (checkpoint.config.preset !== 'encoder-decoder') throw new CliError(`${o.out}: a ${checkpoint.config.preset} checkpoint; attend train continues encoder-decoder runs`);
    if (checkpoint.tokenizer === undefined) throw new CliError(`${join(o.out, 'tokenizer.json')}: missing; the run cannot be resumed without its tokenizer`);
    const tokenizer = tokenizerFromJSON(checkpoint.tokenizer, join(o.out, 'tokenizer.json'));
    return { config: checkpoint.config, tokenizer, step: checkpoint.trainerState?.step ?? 0 };
  }
  const tokenizer = CharTokenizer.fromCorpus(pairs.flatMap((p) => [p.source, p.target]));
  const longest = Math.max(...pairs.map((p) => Math.max(p.source.length, p.target.length)));
  const config = createModelConfig({
    preset: 'encoder-decoder',
    vocabSize: tokenizer.vocabSize,
    dModel: o.dModel,
    numHeads: o.heads,
    numEncoderLayers: o.layers,
    numDecoderLayers: o.layers,
    dFf: 4 * o.dModel,
    maxSeqLen: Math.max(32, longest + 4),
    dropout: 0,
  });
  return { config, tokenizer, step: 0 };
}

export async function trainCommand(o: TrainCommandOptions): Promise<void> {
  const pairs = await loadData(o);
  if (pairs.length < 2) throw new CliError(`${o.pairs ?? o.task}: need at least 2 pairs to train, got ${pairs.length}`);
  const backend = await setupBackend();
  const resuming = o.resume && (await checkpointExists(o.out));
  if (o.resume && !resuming) console.log(`no checkpoint in ${o.out} yet; starting a new run`);
  const { config, tokenizer, step: startStep } = await modelSetup(o, pairs, resuming);
  const devFraction = Math.min(0.1, o.devSize / pairs.length);
  const { train: trainPairs, dev } = trainDevSplit(pairs, { devFraction, seed: o.seed, key: (p) => p.source });
  const encodedMax = (texts: string[]) => Math.max(...texts.map((t) => tokenizer.encode(t).length));
  const maxSrcLen = Math.min(config.maxSeqLen, encodedMax(pairs.map((p) => p.source)) + 2);
  const maxTgtLen = Math.min(config.maxSeqLen - 2, encodedMax(pairs.map((p) => p.target)) + 1);
  const task = seq2seqTask(trainPairs, dev, tokenizer, { batchSize: o.batchSize, seed: o.seed, maxSrcLen, maxTgtLen });

  const model = new TransformerModel(config, { seed: o.seed });
  console.log(
    `${resuming ? `resuming from step ${startStep}:` : 'training'} ${config.preset} (${model.parameterCount().toLocaleString('en-US')} parameters, tfjs ${backend.name}) on ${trainPairs.length} pairs, dev ${dev.length}; checkpoint: ${o.out}`,
  );
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  let view: ReturnType<typeof progressView> | undefined;
  try {
    const result = await train(model, task.nextBatch, {
      steps: o.steps,
      learningRate: o.lr,
      schedule: { kind: 'cosine', warmupSteps: Math.min(50, Math.floor(o.steps / 10)), totalSteps: o.steps, minLr: o.lr / 30 },
      optimizer: { weightDecay: 0.01 },
      evalEvery: o.evalEvery,
      evaluate: async (m) => ({ exactMatch: (await task.evaluate(m)).exactMatch }),
      checkpoint: { dir: o.out, tokenizer: tokenizer.toJSON() },
      resume: resuming,
      logEvery: 10,
      signal: controller.signal,
      onProgress: (e) => {
        if (e.type === 'step') {
          view ??= progressView(e.totalSteps, e.step);
          view.update(e.step, e);
        } else if (e.type === 'eval') {
          const line = `eval @ step ${e.step}: dev exact match ${(100 * (e.metrics.exactMatch ?? 0)).toFixed(2)}%${e.best ? ' (best)' : ''}`;
          if (view) view.log(line);
          else console.log(line);
        }
      },
    });
    view?.stop();
    if (result.reason === 'aborted') {
      console.log(`interrupted at step ${result.state.step}; checkpoint saved in ${o.out} (continue with --resume)`);
      process.exitCode = 130;
      return;
    }
    console.log(`done: step ${result.state.step}/${o.steps} (${result.reason}); checkpoint saved in ${o.out}`);
  } finally {
    view?.stop();
    process.off('SIGINT', onSigint);
    model.dispose();
  }
}
