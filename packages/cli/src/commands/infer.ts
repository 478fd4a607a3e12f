// `attend infer` (and its alias `attend translate`): runs a checkpoint (tfjs) or an export
// folder (onnxruntime on cpu, cuda or wasm) on inputs from arguments, --file or stdin, one per
// line, as whatever the model is: an encoder–decoder translates, a classifier gives each input's
// label (by name when the config has `labels`, e.g. an imported id2label; --json adds `name`) and
// class probabilities, a decoder-only LM continues each input. Labelled inputs add the accuracy:
// a vit-classifier's CSV lines of pixel values that end in a class id, or an encoder-classifier's
// --file in its training layout (`text,label` rows).
// Inputs are read and run --batch-size at a time, each batch's outputs written before the next
// is read; --json prints one object, written as it goes: every result has `input` and `output`
// (the text, or the class id), plus its task's fields.

import { once } from 'node:events';
import { imageConfig, imageInputConfig, modelTask, pairRefusal, type Classification, type ModelConfig, type DecodeStrategy, type FinishReason } from '@attend/core';
import { withPngLines } from '../png-input.js';
import { aPreset, CliError, InputError } from '../errors.js';
import { batchesOf, DEFAULT_INFER_BATCH, imageInputs, inputLines, isImageHeader, maxNewTokensOf, MAX_INFER_BATCH, strategyOf, warnUnknown, type LengthOptions, type StrategyOptions } from '../inputs.js';
import { readingField, type HardInferenceOption } from '../hard-inference.js';
import { openModel, type InferDevice, type ModelRunner } from '../runner.js';
import { parseTextCsv } from '../train-data.js';

export interface InferCommandOptions extends StrategyOptions, LengthOptions, HardInferenceOption {
  file?: string;
  device: InferDevice;
  /** cuda: the GPU index. */
  deviceId?: number;
  json: boolean;
  /** infer: inputs run together in one model call; outputs are written batch by batch. */
  batchSize?: number;
  /** An encoder-classifier with token types: the second text (segment B) of a sentence pair, for every input. */
  pair?: string;
}

/** Tells on stderr when the device asked for could not start (CUDA missing) and another runs the model. */
export function reportFallback(runner: ModelRunner, device: InferDevice): void {
  if (runner.fallback) console.error(`attend: --device ${device} is unavailable (${runner.fallback.reason}); running on ${runner.device}`);
}

/**
 * Tells on stderr that a generation (or translation, `slides` false) stopped because the
 * model's context was full (not eos, not --max-new-tokens).
 */
export function reportContext(finishReason: FinishReason, maxSeqLen: number, what: string, slides = true): void {
  if (finishReason === 'context') console.error(`attend: ${what} stopped at the model's context of ${maxSeqLen} tokens${slides ? ' (--sliding-window goes on past it)' : ''}`);
}

const formatProbabilities = (p: Float32Array) => Array.from(p, (x, k) => `${k}: ${x.toFixed(3)}`).join(', ');

/** The outputs of one batch of inputs. */
interface BatchOutput {
  lines: string[];
  results: object[];
  /** Inputs that carried their class id (vit-classifier CSV lines, encoder-classifier --file rows): how many, and how many the model got right. */
  labelled?: { correct: number; total: number };
}

/** Classified inputs as lines and results, with the count of right answers when the inputs carried labels. */
function classified(inputs: readonly string[], rows: readonly Classification[], labels: readonly number[] | undefined, names: readonly string[] | undefined): BatchOutput {
  return {
    lines: rows.map((r) => `${names?.[r.label] ?? r.label}\t(${formatProbabilities(r.probabilities)})`),
    results: rows.map((r, i) => ({ input: inputs[i]!, output: r.label, ...(names ? { name: names[r.label] } : {}), probabilities: Array.from(r.probabilities, (x) => Number(x.toFixed(6))), ...(labels ? { expected: labels[i]! } : {}) })),
    ...(labels ? { labelled: { correct: rows.filter((r, i) => r.label === labels[i]).length, total: rows.length } } : {}),
  };
}

/** A batch of an encoder-classifier's --file in the training layout (`text,label` or `text,pair,label` rows): texts, pairs and labels; undefined when the lines are not such rows. */
function labelledRows(lines: readonly string[], file: string): { texts: string[]; pairs?: string[]; labels: number[] } | undefined {
  let rows;
  try {
    rows = parseTextCsv(lines.join('\n'), file);
  } catch {
    return undefined; // not the training layout: one input per line
  }
  if (rows.length === 0) return undefined;
  const paired = rows[0]!.pair !== undefined;
  return { texts: rows.map((r) => r.text), ...(paired ? { pairs: rows.map((r) => r.pair!) } : {}), labels: rows.map((r) => r.label) };
}

/** Refuses sentence pairs (from `what`, the flag or file) for a classifier without token types (core's `pairRefusal`). */
function checkPairs(config: ModelConfig, what: string): void {
  const refusal = pairRefusal(config, what);
  if (refusal) throw new CliError(refusal, 2);
}

/** Runs one batch of inputs (`before` came in earlier batches); `csv` when the encoder-classifier's --file is in the training layout. */
async function runBatch(runner: ModelRunner, inputs: string[], before: number, o: InferCommandOptions, strategy: DecodeStrategy, csv: boolean): Promise<BatchOutput> {
  const task = modelTask(runner.config);
  const maxNewTokens = maxNewTokensOf(o);
  if (o.slidingWindow && task !== 'text-generation') throw new CliError(`--sliding-window: for a decoder-lm; this model is ${aPreset(runner.config.preset)}`, 2);
  if (task === 'image-to-text') {
    const config = imageInputConfig(runner.config, 'image inputs');
    const images = imageInputs(await withPngLines(inputs, config), config, { header: false });
    if (images.labels) throw new CliError('a captioner takes pixel values only: no class id after them');
    const captions = await runner.caption(images.pixels, images.count, strategy);
    return { lines: captions, results: captions.map((output, i) => ({ input: `image ${before + i + 1}`, output })) };
  }
  if (task === 'image-classification') {
    const config = imageConfig(runner.config, 'image inputs');
    const images = imageInputs(await withPngLines(inputs, config), config, { header: false });
    const rows = await runner.classifyImages(images.pixels, images.count);
    return classified(inputs, rows, images.labels, runner.config.labels);
  }
  if (task === 'text-classification') {
    const labelled = csv ? labelledRows(inputs, o.file!) : undefined;
    if (csv && !labelled) throw new CliError(`${o.file}: these lines are not \`text,label\` rows like the ones before them`);
    const texts = labelled?.texts ?? inputs;
    const pairs = labelled?.pairs ?? (o.pair === undefined ? undefined : texts.map(() => o.pair!));
    if (pairs) checkPairs(runner.config, labelled?.pairs ? o.file! : '--pair');
    warnUnknown(runner.tokenizer, pairs ? [...texts, ...pairs] : texts);
    return classified(texts, await runner.classify(texts, pairs), labelled?.labels, runner.config.labels);
  }
  if (o.pair !== undefined) throw new CliError(`--pair: for an encoder-classifier with token types (sentence pairs); this model is ${aPreset(runner.config.preset)}`, 2);
  warnUnknown(runner.tokenizer, inputs);
  if (task === 'translation') {
    const outputs = await runner.translate(inputs, strategy, maxNewTokens);
    outputs.forEach((t, i) => reportContext(t.finishReason, runner.config.maxSeqLen, inputs.length === 1 && before === 0 ? 'the translation' : `input ${before + i + 1}`, false));
    return { lines: outputs.map((t) => t.output), results: inputs.map((input, i) => ({ input, ...outputs[i]! })) };
  }
  const results: { input: string; output: string; finishReason: FinishReason }[] = [];
  for (const [i, input] of inputs.entries()) {
    const { output, finishReason } = await runner.generate(input, { strategy, ...(maxNewTokens !== undefined ? { maxNewTokens } : {}), slidingWindow: o.slidingWindow ?? false });
    reportContext(finishReason, runner.config.maxSeqLen, inputs.length === 1 && before === 0 ? 'the generation' : `input ${before + i + 1}`);
    results.push({ input, output, finishReason });
  }
  return { lines: results.map((r) => r.output), results };
}

/** Writes to stdout, waiting while its buffer is full, so that a slow reader keeps memory flat. */
async function write(text: string): Promise<void> {
  if (!process.stdout.write(text)) await once(process.stdout, 'drain');
}

/**
 * `attend infer`, or as `attend translate` (`command`), which takes only encoder–decoders. Runs
 * the model over the inputs batch by batch (--batch-size at a time), writing each batch's outputs
 * before reading the next: memory stays flat however many lines --file or stdin holds. --json
 * writes the same single object as it goes (`results` filled batch by batch).
 */
export async function inferCommand(model: string, texts: string[], o: InferCommandOptions, command: 'infer' | 'translate' = 'infer'): Promise<void> {
  const strategy = strategyOf(o);
  maxNewTokensOf(o);
  const batchSize = o.batchSize ?? DEFAULT_INFER_BATCH;
  if (batchSize > MAX_INFER_BATCH) throw new CliError(`--batch-size: ${batchSize} is over the limit of ${MAX_INFER_BATCH} inputs per model call`, 2);
  const batches = batchesOf(inputLines(texts, o.file), batchSize);
  // The first batch is read before the model loads: a missing file or no input fails fast.
  const first = await batches.next();
  if (first.done) throw new CliError('no input lines to run the model on');
  const runner = await openModel(model, o.device, o.deviceId, { hardInference: o.hardInference });
  try {
    if (command === 'translate' && modelTask(runner.config) !== 'translation') {
      const use = modelTask(runner.config) === 'text-generation' ? 'attend generate' : 'attend infer';
      throw new CliError(`${model}: ${aPreset(runner.config.preset)} model; translate needs an encoder-decoder or rnn-seq2seq (use ${use})`);
    }
    reportFallback(runner, o.device);
    const task = modelTask(runner.config);
    const images = task === 'image-classification' || task === 'image-to-text' ? imageInputConfig(runner.config, 'image inputs') : undefined;
    // An encoder-classifier's --file in the training layout (decided on its first lines) reports accuracy.
    const csv = task === 'text-classification' && o.file !== undefined && labelledRows(first.value, o.file) !== undefined;
    const decodes = task === 'translation' || task === 'text-generation' || task === 'image-to-text';
    let done = 0;
    let labelled: { correct: number; total: number } | undefined;
    const run = async (inputs: string[]) => {
      let out: BatchOutput;
      try {
        out = await runBatch(runner, inputs, done, o, strategy, csv);
      } catch (error) {
        throw error instanceof InputError ? error.shifted(done) : error;
      }
      if (out.labelled && done > 0 && !labelled) throw new CliError(`input ${done + 1} ends with a class id but the inputs before it do not; give it on every line or on none`);
      if (!out.labelled && labelled) throw new CliError(`input ${done + 1} has no class id but the inputs before it do; give it on every line or on none`);
      if (o.json) {
        const head = done === 0 ? `${JSON.stringify({ model, preset: runner.config.preset, runtime: runner.runtime, ...(decodes ? { strategy } : {}), ...readingField(runner.config, o) }).slice(0, -1)},"results":[` : ',';
        await write(head + out.results.map((r) => JSON.stringify(r)).join(','));
      } else await write(out.lines.map((line) => `${line}\n`).join(''));
      if (out.labelled) labelled = { correct: (labelled?.correct ?? 0) + out.labelled.correct, total: (labelled?.total ?? 0) + out.labelled.total };
      done += inputs.length;
    };
    // An images CSV may start with its header row.
    const firstInputs = images && isImageHeader(first.value[0]!, images) ? first.value.slice(1) : first.value;
    if (firstInputs.length > 0) await run(firstInputs);
    for await (const batch of batches) await run(batch);
    if (done === 0) throw new CliError('no images: each input is a line of comma-separated pixel values');
    const summary = labelled && { accuracy: labelled.correct / labelled.total, ...labelled };
    if (o.json) await write(`]${summary ? `,"summary":${JSON.stringify(summary)}` : ''}}\n`);
    // On stderr, so that stdout stays one line per input.
    else if (summary) console.error(`accuracy: ${(100 * summary.accuracy).toFixed(2)}% (${summary.correct}/${summary.total} ${images ? 'images' : 'inputs'})`);
  } finally {
    await runner.close();
  }
}
