// `attend train`: trains any preset — encoder–decoder (Transformer or GRU) on pairs (TSV or a
// synthetic task), decoder-only LM on a text file, encoder classifier on a CSV or a synthetic
// task — with a character, word or byte-level BPE tokenizer built from the training data
// (--tokenizer, --vocab-size; a resumed run keeps its checkpoint's), or the vision Transformer on a CSV of images (no tokenizer), checkpointing into --out at each eval and at the end;
// --resume continues a stopped run with the same data order. Settings come from defaults, a
// JSON --config file and the flags (see train-settings.ts); they are printed at the start, each
// evaluation's dev metrics as it comes, and the elapsed time and best dev metrics at the end.
// Each checkpoint save also writes metrics.jsonl (one line per evaluation, a checkpoint file)
// and redraws the loss curve (loss.svg: train and dev loss, log scale) into the folder. --out must be new or empty, or the checkpoint continued
// with --resume or replaced with --overwrite (see out-folder.ts); a lock file in it keeps a
// second training on the same folder out.

import { rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CHECKPOINT_FILES,
  hasTokens,
  createModelConfig,
  featureLocations,
  formatGiB,
  memoryFit,
  modelKind,
  modelTask,
  trainingBudget,
  WASM_HEAP_BYTES,
  type FlopsLengths,
  tokenizerFromJSON,
  type ModelConfig,
  type ModelConfigInput,
  type Preset,
  type Tokenizer,
  type TrainerState,
} from '@attend/core';
import { checkFolderUnlocked, lockFolder, recoverFolder } from '@attend/core/node';
import type { AttendModel } from '@attend/transformer';
import { aPreset, CliError } from '../errors.js';
import { CHECKPOINT_FOLDER, LOSS_CURVE_FILE, outFolderState, refuseOverlap } from '../out-folder.js';
import { lossCurveSvg } from '../plots.js';
import { progressView } from '../progress.js';
import { loadTrainData, presetOfData, type DataFlags, type TrainData } from '../train-data.js';
import { configErrorOf, settingError, TRAIN_LIMITS, trainSettings, type TrainFlags, type TrainSettings } from '../train-settings.js';
import { checkTokenizerFlags, trainTokenizer, type TrainTokenizer } from '../train-tokenizer.js';
import { loraOfFlags, loraSummary, type LoraFlags } from '../train-lora.js';
import { checkClasses, HEAD_MODULE, withFreshHead } from '../train-head.js';
import { trainWorkers } from '../train-workers.js';
import type { BestMetric, TrainKind } from '../models/kind.js';
import { CLI_KINDS } from '../models/registry.js';

export interface TrainCommandOptions extends TrainFlags, DataFlags, LoraFlags {
  out: string;
  /** GiB a training step may use at most (default: what the tfjs wasm heap holds). */
  memoryLimit?: number;
  resume: boolean;
  /** Start a new run over the checkpoint in --out. */
  overwrite?: boolean;
  /** A checkpoint whose model, weights and tokenizer a new run starts from (fine-tuning). */
  from?: string;
  /** The tokenizer of a new run (default char). */
  tokenizer?: TrainTokenizer;
  /** Its vocabulary size (word, bpe). */
  vocabSize?: number;
  /** With --from: a fresh classifier head of this many classes. */
  numClasses?: number;
  /** Data-parallel worker threads (default 1: no threads). */
  workers?: number;
}


/**
 * Checks --out before anything is written: not a data file or around one, and new, empty or a
 * checkpoint continued (--resume) or replaced (--overwrite). Cleans up after a killed save first.
 */
async function checkOut(o: TrainCommandOptions): Promise<'absent' | 'empty' | 'checkpoint'> {
  await refuseOverlap(o.out, [o.pairs, o.text, o.csv, o.images, o.digitsCsv, o.config, o.from].filter((f): f is string => f !== undefined));
  // Before anything reads or tidies --out: a folder another training is writing is refused.
  await checkFolderUnlocked(o.out);
  await recoverFolder(o.out);
  const state = await outFolderState(o.out, CHECKPOINT_FOLDER);
  if (state !== 'earlier-output') return state;
  if (!o.resume && !o.overwrite) throw new CliError(`--out ${o.out}: already a checkpoint; give --resume to continue it or --overwrite to start a new run over it`, 2);
  return 'checkpoint';
}

/** The tokenizer for new runs, built from the training texts as --tokenizer asks (none for images). */
function tokenizerFor(training: TrainKind, data: TrainData, o: TrainCommandOptions): Tokenizer | undefined {
  if (!training.tokenizerTexts) {
    if (o.tokenizer !== undefined) throw new CliError(`--tokenizer: ${data.source} holds images, which have no tokenizer`, 2);
    return undefined;
  }
  const fixed = training.tokenizer;
  if (fixed && o.tokenizer !== undefined && o.tokenizer !== fixed) throw new CliError(`--tokenizer: ${data.source} takes --tokenizer ${fixed} (the default for it)`, 2);
  return trainTokenizer(training.tokenizerTexts(data), fixed ?? o.tokenizer, o.vocabSize);
}

/**
 * The ModelConfig of a new run: sizes from the data, the CLI's defaults, then the file's and the
 * flags' fields — only those the preset's kind has. A field the user set (in the file or as a
 * flag) that the kind does not have is an error naming the flag or the file's field; a flag's
 * default that does not apply (e.g. --heads for rnn-seq2seq) is left out.
 */
function modelConfigFor(data: TrainData, tokenizer: Tokenizer | undefined, s: TrainSettings): ModelConfig {
  const { layers = 2, preset = data.preset, ...fields } = s.model as Record<string, unknown> & { layers?: number; preset?: Preset };
  // The data decides the task; --preset may pick another kind for it (pairs train rnn-seq2seq too).
  const kind = modelKind(preset);
  for (const field of Object.keys(fields)) {
    // `labels` is any classifier's optional field, checked with the config (validateLabels).
    if (!kind.fields.includes(field) && field !== 'labels' && s.origin[field] !== 'default') throw settingError(s, field, `preset '${kind.preset}' has no such setting`);
  }
  // --context-length is a training setting (the LM's windows, and its maxSeqLen): set for another kind, it would do nothing.
  if (kind.task !== 'text-generation' && s.origin.contextLength !== undefined && s.origin.contextLength !== 'default') {
    throw settingError(s, 'contextLength', `preset '${kind.preset}' has no such setting (it sets a decoder-lm's training windows)`);
  }
  const dModel = (fields.dModel as number | undefined) ?? 64;
  const patchSize = fields.patchSize as number | undefined;
  const sizes: Record<string, unknown> = {
    dModel,
    numHeads: 4,
    numEncoderLayers: layers,
    numDecoderLayers: layers,
    dropout: 0,
    dFf: 4 * dModel,
    ...CLI_KINDS[kind.preset].train.sizes(data, tokenizer, s, { dModel, ...(patchSize === undefined ? {} : { patchSize }) }),
  };
  const input = Object.fromEntries(Object.entries({ ...sizes, ...fields }).filter(([field]) => kind.fields.includes(field) || field === 'labels'));
  try {
    return createModelConfig({ ...input, preset: kind.preset } as ModelConfigInput);
  } catch (error) {
    throw configErrorOf(s, error);
  }
}

/**
 * On --resume the checkpoint's config decides the model: a model setting typed as a flag or set
 * in --config must equal the checkpoint's value, or it is refused naming the flag (or the file's
 * field) and both values. Training settings (--steps, --lr, --batch-size, --eval-every, …) may
 * change; defaults are never compared.
 */
export function checkResumeSettings(s: TrainSettings, config: ModelConfig, dir: string, keeps = 'a resumed run keeps its model (drop it, or start a new run with --overwrite)'): void {
  const kind = modelKind(config.preset);
  const { layers, ...fields } = s.model;
  // [setting, the config field it sets, the value asked for]
  const asked: [string, string, unknown][] = Object.entries(fields).map(([field, value]) => [field, field, value]);
  for (const field of ['numEncoderLayers', 'numDecoderLayers']) if (kind.fields.includes(field)) asked.push(['layers', field, layers]);
  if (modelTask(config) === 'text-generation') asked.push(['contextLength', 'maxSeqLen', s.contextLength]);
  for (const [setting, field, value] of asked) {
    if (s.origin[setting] === 'default' || s.origin[setting] === undefined) continue;
    // `labels` is any classifier's optional field (its class names), compared as a list.
    const labels = field === 'labels' && 'numClasses' in config;
    if (!kind.fields.includes(field) && !labels) throw settingError(s, setting, `the checkpoint in ${dir} (${config.preset}) has no such setting`);
    const saved = (config as unknown as Record<string, unknown>)[field];
    const show = (x: unknown) => (labels ? JSON.stringify(x ?? null) : String(x));
    if (labels ? show(saved) !== show(value) : saved !== value) {
      const name = field === setting ? '' : ` ${field}`;
      throw settingError(s, setting, `${show(value)} differs from the checkpoint's${name} ${show(saved)} in ${dir}; ${keeps}`);
    }
  }
}

/**
 * The micro-batches a run's step is split into so that it fits in memory, checked before the
 * model is built: core's memoryFit (the estimate of one heap's share of the step: each worker
 * has its own) against the tfjs wasm heap, or --memory-limit. With neither --grad-accum nor the
 * config file's gradAccum given, a batch too large is split into the fewest micro-batches that fit
 * (the same gradient, one micro-batch's activations alive); otherwise a run that does not fit is
 * refused, naming the batch size that fits, or what to shrink when not even one example does.
 */
function checkMemory(config: ModelConfig, lengths: FlopsLengths, s: TrainSettings, o: TrainCommandOptions, backend: string, workers: number): number {
  const limit = o.memoryLimit === undefined ? undefined : o.memoryLimit * GiB;
  const budget = trainingBudget(backend, limit);
  if (budget === Infinity) return s.gradAccum;
  const fit = memoryFit(config, lengths, { batchSize: s.batchSize, gradAccum: s.gradAccum, workers, budget });
  if (fit.fits) return s.gradAccum;
  const chosen = s.origin.gradAccum === 'default' || s.origin.gradAccum === undefined;
  if (chosen && fit.gradAccum > 0) return fit.gradAccum;
  const holds = limit !== undefined && budget === limit ? `--memory-limit is ${formatGiB(budget)}` : `the tfjs wasm heap holds ${formatGiB(WASM_HEAP_BYTES)} (${formatGiB(budget)} for training)`;
  if (fit.largestMicroBatch === 0) {
    const one = fit.oneExample;
    throw new CliError(
      `the model (${Math.round(one.parameters).toLocaleString('en-US')} parameters, one example of ${lengths.context} tokens) needs ~${formatGiB(one.bytes)} to train; ${holds}; lower --d-model, --layers${modelTask(config) === 'text-generation' ? ', --context-length' : ''} or the vocabulary`,
      2,
    );
  }
  const batch = s.origin.batchSize === 'file' && s.file ? `${s.file}: batchSize ${s.batchSize}` : `--batch-size ${s.batchSize}${s.origin.batchSize === 'default' ? ' (the default)' : ''}`;
  const split = [workers > 1 && ` on ${workers} workers (${fit.share} rows each)`, s.gradAccum > 1 && ` in micro-batches of ${fit.microBatch}`].filter(Boolean).join('');
  const each = workers > 1 ? ' per worker' : '';
  throw new CliError(`${batch}${split} needs ~${formatGiB(fit.bytes)}${each}; ${holds}; --batch-size ${fit.batchSize} fits, or --grad-accum ${fit.gradAccum} keeps the batch of ${s.batchSize}`, s.origin.batchSize === 'file' ? 1 : 2);
}

const GiB = 1024 ** 3;

/** The model's sizes in a few words, for the opening lines. */
function modelShape(config: ModelConfig): string {
  const c = config as Partial<Record<'dModel' | 'numHeads' | 'numEncoderLayers' | 'numDecoderLayers' | 'maxSeqLen' | 'vocabSize', number>>;
  const stacks = [c.numEncoderLayers && `${c.numEncoderLayers} encoder`, c.numDecoderLayers && `${c.numDecoderLayers} decoder`].filter(Boolean);
  const total = (c.numEncoderLayers ?? 0) + (c.numDecoderLayers ?? 0);
  return [
    `d ${c.dModel}`,
    stacks.length > 0 && `${stacks.join(' + ')} layer${total === 1 ? '' : 's'}`,
    c.numHeads && `${c.numHeads} heads`,
    c.vocabSize && `vocabulary ${c.vocabSize}`,
    `context ${c.maxSeqLen}`,
  ].filter(Boolean).join(', ');
}

/** The loss curve of a run so far: the logged training losses and the dev loss of each evaluation. */
function lossCurveOf(title: string, state: TrainerState) {
  const dev = state.evals.filter((e) => e.metrics.loss !== undefined).map((e) => ({ step: e.step, loss: e.metrics.loss! }));
  return { title, train: state.losses, dev };
}

/** The closing lines: training time (all runs of a resumed training) and each best dev metric with its step. */
export function runSummary(state: TrainerState, best: readonly BestMetric[]): string {
  const seconds = (state.elapsedMs ?? 0) / 1000;
  const time = seconds >= 60 ? `${Math.floor(seconds / 60)} min ${(seconds % 60).toFixed(0)} s` : `${seconds.toFixed(1)} s`;
  const found = best.flatMap((b) => {
    let top: { value: number; step: number } | undefined;
    for (const e of state.evals) {
      const value = e.metrics[b.metric];
      if (value === undefined || !Number.isFinite(value)) continue;
      if (!top || (b.mode === 'max' ? value > top.value : value < top.value)) top = { value, step: e.step };
    }
    return top ? [`${b.describe(top.value)} at step ${top.step}`] : [];
  });
  return `elapsed ${time}${found.length > 0 ? `; best ${found.join(', ')}` : ''}`;
}

export async function trainCommand(o: TrainCommandOptions, fromCli: (key: keyof TrainFlags) => boolean): Promise<void> {
  const s = await trainSettings(o, fromCli);
  let workers = trainWorkers(o.workers, s);
  checkTokenizerFlags(o.tokenizer, o.vocabSize);
  const out = await checkOut(o);
  const t = await import('@attend/transformer');
  const resuming = o.resume && out === 'checkpoint';
  if (o.from !== undefined && o.resume) throw new CliError('--from starts a new run from a checkpoint and --resume continues the one in --out; give one of them', 2);
  if (o.resume && !resuming) console.log(`no checkpoint in ${o.out} yet; starting a new run`);
  let config: ModelConfig | undefined;
  let tokenizer: Tokenizer | undefined;
  let startStep = 0;
  /** --from: the checkpoint's model, trained further from its weights with a fresh optimizer. */
  let initial: AttendModel | undefined;
  const source = resuming ? o.out : o.from;
  const keeps = resuming ? 'a resumed run keeps its tokenizer' : 'a --from run keeps the checkpoint\'s tokenizer';
  if (source !== undefined) {
    await t.setupBackend();
    // Loaded whole, which also recovers a save cut between its two renames.
    const checkpoint = await t.loadCheckpoint(source);
    if (resuming) checkpoint.model.dispose();
    else initial = checkpoint.model;
    config = checkpoint.config;
    if (checkpoint.tokenizer !== undefined) tokenizer = tokenizerFromJSON(checkpoint.tokenizer, join(source, CHECKPOINT_FILES.tokenizer));
    else if (hasTokens(config)) throw new CliError(`${join(source, CHECKPOINT_FILES.tokenizer)}: missing; the run cannot go on without its tokenizer`);
    if (o.tokenizer !== undefined && o.tokenizer !== (tokenizer?.kind ?? 'none')) {
      throw new CliError(`--tokenizer: ${o.tokenizer} differs from the ${tokenizer ? `${tokenizer.kind} tokenizer` : 'tokenizer-less model'} of the checkpoint in ${source} (${keeps})`, 2);
    }
    if (resuming) startStep = checkpoint.trainerState?.step ?? 0;
    const dataPreset = presetOfData(o);
    if (dataPreset !== undefined && modelTask(config) !== modelKind(dataPreset).task) {
      initial?.dispose();
      throw new CliError(`${source}: ${aPreset(config.preset)} model; the training data given is for ${aPreset(dataPreset)}`, 2);
    }
  }
  const preset: Preset | undefined = config?.preset ?? s.preset ?? presetOfData(o);
  if (preset === undefined) throw new CliError('no training data: give --task NAME, --pairs FILE.tsv, --text FILE, --csv FILE.csv or --images FILE.csv', 2);
  if (config && source !== undefined) checkResumeSettings(s, config, source, resuming ? undefined : 'a --from run keeps the checkpoint\'s model (drop the flag)');
  if (o.numClasses !== undefined) {
    if (!initial) throw new CliError('--num-classes needs --from CKPT: it gives a trained classifier a fresh head', 2);
    initial = withFreshHead(t, initial, o.numClasses, s.seed);
    config = initial.config;
  }
  // A fresh head trains in full beside the adapters.
  const lora = loraOfFlags(o, resuming ? undefined : config, o.numClasses !== undefined ? [HEAD_MODULE] : undefined);
  if (lora && initial) {
    initial = t.withLora(initial, lora, s.seed);
    config = initial.config;
  }
  const data = await loadTrainData(o, preset, { examples: s.examples, seed: s.seed, numChannels: (config && !hasTokens(config) ? config.numChannels : undefined) ?? (s.model.numChannels as number | undefined), devSize: s.devSize });
  if (config && 'numClasses' in data) checkClasses(config, data.numClasses, data.source);
  const training = CLI_KINDS[preset].train;
  if (!tokenizer) {
    tokenizer = tokenizerFor(training, data, o);
    if (tokenizer?.kind === 'char' && tokenizer.vocabSize > TRAIN_LIMITS.vocabSize) {
      throw new CliError(`${data.source}: ${tokenizer.vocabSize.toLocaleString('en-US')} distinct characters; a character vocabulary holds at most ${TRAIN_LIMITS.vocabSize.toLocaleString('en-US')} (is it text?)`);
    }
  }
  config ??= modelConfigFor(data, tokenizer, s);
  const task = training.task(t, data, tokenizer, config, s);

  const backend = await t.setupBackend();
  const gradAccum = checkMemory(config, task.lengths, s, o, backend.name, workers);
  if (gradAccum !== s.gradAccum) workers = trainWorkers(o.workers, { ...s, gradAccum }, true);
  const model = initial ?? t.createModel(config, { seed: s.seed });
  // Its objective samples (REINFORCE) and keeps state (baselines) in the model: one thread.
  if (model.trainingLoss && workers > 1) throw new CliError(`--workers: a ${config.preset} trains with its own objective (sampling, baselines) on one thread; drop --workers or give 1`, 2);
  const lock = await lockFolder(o.out);
  const warmupSteps = Math.min(50, Math.floor(s.steps / 10));
  const minLr = s.learningRate / 30;
  console.log(
    [
      `${resuming ? `resuming from step ${startStep}:` : 'training'} ${config.preset} on ${data.source}`,
      `  model     ${model.parameterCount().toLocaleString('en-US')} parameters (${modelShape(config)})`,
      ...(config.lora ? [loraSummary(model, config.lora)] : []),
      `  data      ${task.size}`,
      `  training  steps ${s.steps}${resuming ? ` (${s.steps - startStep} to go)` : ''}, batch ${s.batchSize}${gradAccum > s.gradAccum ? ` (${gradAccum} micro-batches of ≤ ${Math.ceil(s.batchSize / gradAccum)}, to fit in memory)` : ''}, lr ${s.learningRate} (cosine, ${warmupSteps} warmup steps, down to ${Number(minLr.toPrecision(3))}), eval every ${s.evalEvery}, seed ${s.seed}`,
      `  device    tfjs ${backend.name} (cpu)${workers > 1 ? `, ${workers} worker threads` : ''}`,
      `  out       ${o.out} (checkpoint, ${CHECKPOINT_FILES.metrics}, ${LOSS_CURVE_FILE})`,
    ].join('\n'),
  );
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  let view: ReturnType<typeof progressView> | undefined;
  const curve = join(o.out, LOSS_CURVE_FILE);
  const title = `${config.preset} on ${data.source}`;
  try {
    const result = await t.train(model, task.nextBatch, {
      steps: s.steps,
      ...(gradAccum > 1 ? { gradAccum } : {}),
      ...(workers > 1 ? { workers } : {}),
      // The budget checkMemory took (--memory-limit lowers the wasm heap's, never raises it).
      ...(o.memoryLimit !== undefined ? { memoryLimit: trainingBudget(backend.name, o.memoryLimit * GiB) } : {}),
      learningRate: s.learningRate,
      schedule: { kind: 'cosine', warmupSteps, totalSteps: s.steps, minLr },
      optimizer: { weightDecay: 0.01 },
      evalEvery: s.evalEvery,
      // In the step's micro-batches: a larger evaluation would outgrow the memory estimate.
      evaluate: (m) => task.evaluate(m, Math.ceil(s.batchSize / gradAccum)),
      checkpoint: {
        dir: o.out,
        ...(tokenizer ? { tokenizer: tokenizer.toJSON() } : {}),
        // The loss curve is redrawn with each save, so it follows every evaluation.
        files: async (state): Promise<Record<string, Uint8Array>> => (state.losses.length > 0 ? { [LOSS_CURVE_FILE]: new TextEncoder().encode(await lossCurveSvg(lossCurveOf(title, state))) } : {}),
      },
      resume: resuming,
      logEvery: 10,
      signal: controller.signal,
      onProgress: (e) => {
        if (e.type === 'step') {
          view ??= progressView(e.totalSteps, e.step, training.unit);
          view.update(e.step, e);
        } else if (e.type === 'eval') {
          const line = `eval @ step ${e.step}: ${task.describeEval(e.metrics)}`;
          if (view) view.log(line);
          else console.log(line);
        }
      },
    });
    view?.stop();
    const summary = runSummary(result.state, task.best);
    if (result.reason === 'aborted') {
      console.log(`interrupted at step ${result.state.step}; checkpoint saved in ${o.out} (continue with --resume)`);
      console.log(summary);
      process.exitCode = 130;
      return;
    }
    console.log(`done: step ${result.state.step}/${s.steps} (${result.reason}); checkpoint saved in ${o.out}`);
    console.log(summary);
    if (result.state.losses.length > 0) console.log(`loss curve: ${curve}`);
  } finally {
    view?.stop();
    process.off('SIGINT', onSigint);
    model.dispose();
    await lock.release();
    // A run that failed before its first save leaves no empty folder behind.
    if (out === 'absent') await rmdir(o.out).catch(() => undefined);
  }
}
