// `attend train`: trains an encoder–decoder (Transformer, or GRU with --model rnn) on a built-in synthetic task or a TSV of pairs with
// a character tokenizer, checkpointing into --out (at each eval and at the end); --resume
// continues a stopped run from its checkpoint with the same data order.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CharTokenizer,
  createModelConfig,
  parseModelConfig,
  readTsvPairs,
  syntheticTask,
  tokenizerFromJSON,
  trainDevSplit,
  type ModelConfig,
  type RnnAttention,
  type SyntheticTaskName,
  type TextPair,
  type Tokenizer,
} from '@attend/core';
import { checkpointExists, createModel, seq2seqTask, setupBackend, train } from '@attend/transformer';
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
  /** 'transformer' (encoder-decoder) or 'rnn' (rnn-seq2seq). */
  model: 'transformer' | 'rnn';
  rnnAttention: RnnAttention;
  localWindow: number;
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

async function loadData(o: TrainCommandOptions): Promise<TextPair[]> {
  if (o.task && o.pairs) throw new CliError('give either --task or --pairs, not both', 2);
  if (o.pairs) return readTsvPairs(o.pairs);
  if (o.task) return syntheticTask(o.task, { count: o.examples, seed: o.seed });
  throw new CliError('no training data: give --task copy|reverse|sort|date or --pairs FILE.tsv', 2);
}

/** The config and tokenizer of the run: from the checkpoint when resuming, else from the flags. */
async function modelSetup(o: TrainCommandOptions, pairs: readonly TextPair[], resuming: boolean): Promise<{ config: ModelConfig; tokenizer: Tokenizer }> {
  if (resuming) {
    const configPath = join(o.out, 'config.json');
    const tokenizerPath = join(o.out, 'tokenizer.json');
    const config = parseModelConfig(await readFile(configPath, 'utf8'), configPath);
    const tokenizer = tokenizerFromJSON(JSON.parse(await readFile(tokenizerPath, 'utf8')), tokenizerPath);
    return { config, tokenizer };
  }
  const tokenizer = CharTokenizer.fromCorpus(pairs.flatMap((p) => [p.source, p.target]));
  const longest = Math.max(...pairs.map((p) => Math.max(p.source.length, p.target.length)));
  const maxSeqLen = Math.max(32, longest + 4);
  if (o.model === 'rnn') {
    const config = createModelConfig({
      preset: 'rnn-seq2seq',
      vocabSize: tokenizer.vocabSize,
      dModel: o.dModel,
      numEncoderLayers: o.layers,
      numDecoderLayers: o.layers,
      maxSeqLen,
      dropout: 0,
      rnnAttention: o.rnnAttention,
      localWindow: o.rnnAttention === 'local-p' ? o.localWindow : null,
    });
    return { config, tokenizer };
  }
  const config = createModelConfig({
    preset: 'encoder-decoder',
    vocabSize: tokenizer.vocabSize,
    dModel: o.dModel,
    numHeads: o.heads,
    numEncoderLayers: o.layers,
    numDecoderLayers: o.layers,
    dFf: 4 * o.dModel,
    maxSeqLen,
    dropout: 0,
  });
  return { config, tokenizer };
}

async function savedStep(dir: string): Promise<number> {
  const path = join(dir, 'trainer_state.json');
  const state = JSON.parse(await readFile(path, 'utf8').catch(() => '{}')) as { step?: unknown };
  return typeof state.step === 'number' ? state.step : 0;
}

export async function trainCommand(o: TrainCommandOptions): Promise<void> {
  const pairs = await loadData(o);
  if (pairs.length < 2) throw new CliError(`${o.pairs ?? o.task}: need at least 2 pairs to train, got ${pairs.length}`);
  const resuming = o.resume && (await checkpointExists(o.out));
  if (o.resume && !resuming) console.log(`no checkpoint in ${o.out} yet; starting a new run`);
  const { config, tokenizer } = await modelSetup(o, pairs, resuming);
  const devFraction = Math.min(0.1, o.devSize / pairs.length);
  const { train: trainPairs, dev } = trainDevSplit(pairs, { devFraction, seed: o.seed, key: (p) => p.source });
  const encodedMax = (texts: string[]) => Math.max(...texts.map((t) => tokenizer.encode(t).length));
  const maxSrcLen = Math.min(config.maxSeqLen, encodedMax(pairs.map((p) => p.source)) + 2);
  const maxTgtLen = Math.min(config.maxSeqLen - 2, encodedMax(pairs.map((p) => p.target)) + 1);
  const task = seq2seqTask(trainPairs, dev, tokenizer, { batchSize: o.batchSize, seed: o.seed, maxSrcLen, maxTgtLen });

  const backend = await setupBackend();
  const model = createModel(config, { seed: o.seed });
  const startStep = resuming ? await savedStep(o.out) : 0;
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
