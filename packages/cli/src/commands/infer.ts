// `attend infer` (and its alias `attend translate`): runs a checkpoint (tfjs) or an export
// folder (onnxruntime on cpu, cuda or wasm) on inputs from arguments, --file or stdin, one per
// line, as whatever the model is: an encoder–decoder translates, a classifier gives each input's
// label and class probabilities, a decoder-only LM continues each input. A vit-classifier's
// inputs are CSV lines of pixel values (a class id at the end of every line adds the accuracy).
// Inputs are read and run --batch-size at a time, each batch's outputs written before the next
// is read; --json prints one object, written as it goes.

import { once } from 'node:events';
import { configAs, modelTask, type DecodeStrategy } from '@attend/core';
import { CliError, InputError } from '../errors.js';
import { batchesOf, DEFAULT_INFER_BATCH, imageInputs, inputLines, isImageHeader, MAX_INFER_BATCH, strategyOf, type StrategyOptions } from '../inputs.js';
import { openModel, type InferDevice, type ModelRunner } from '../runner.js';

export interface InferCommandOptions extends StrategyOptions {
  file?: string;
  device: InferDevice;
  /** cuda: the GPU index. */
  deviceId?: number;
  maxTokens?: number;
  json: boolean;
  /** infer: inputs run together in one model call; outputs are written batch by batch. */
  batchSize?: number;
}

/** Tells on stderr when the device asked for could not start (CUDA missing) and another runs the model. */
export function reportFallback(runner: ModelRunner, device: InferDevice): void {
  if (runner.fallback) console.error(`attend: --device ${device} is unavailable (${runner.fallback.reason}); running on ${runner.device}`);
}

const formatProbabilities = (p: Float32Array) => Array.from(p, (x, k) => `${k}: ${x.toFixed(3)}`).join(', ');

/** The outputs of one batch of inputs. */
interface BatchOutput {
  lines: string[];
  results: object[];
  /** vit-classifier inputs that carried their class id: how many, and how many the model got right. */
  labelled?: { correct: number; total: number };
}

/** Runs one batch of inputs; `before` inputs came in earlier batches (for the images' numbers). */
async function runBatch(runner: ModelRunner, inputs: string[], strategy: DecodeStrategy, maxTokens: number | undefined, before: number): Promise<BatchOutput> {
  const task = modelTask(runner.config);
  if (task === 'image-classification') {
    const images = imageInputs(inputs, configAs(runner.config, ['vit-classifier'], 'image inputs'), { header: false });
    const rows = await runner.classifyImages(images.pixels, images.count);
    const results = rows.map((r, i) => ({ image: before + i + 1, label: r.label, probabilities: Array.from(r.probabilities, (x) => Number(x.toFixed(6))), ...(images.labels ? { expected: images.labels[i]! } : {}) }));
    return {
      lines: rows.map((r) => `${r.label}\t(${formatProbabilities(r.probabilities)})`),
      results,
      ...(images.labels ? { labelled: { correct: rows.filter((r, i) => r.label === images.labels![i]).length, total: rows.length } } : {}),
    };
  }
  if (task === 'translation') {
    const outputs = await runner.translate(inputs, strategy, maxTokens);
    return { lines: outputs, results: inputs.map((source, i) => ({ source, output: outputs[i]! })) };
  }
  if (task === 'text-classification') {
    const rows = await runner.classify(inputs);
    return {
      lines: rows.map((r) => `${r.label}\t(${formatProbabilities(r.probabilities)})`),
      results: inputs.map((input, i) => ({ input, label: rows[i]!.label, probabilities: Array.from(rows[i]!.probabilities, (x) => Number(x.toFixed(6))) })),
    };
  }
  const outputs: string[] = [];
  for (const prompt of inputs) outputs.push(await runner.generate(prompt, strategy, maxTokens));
  return { lines: outputs, results: inputs.map((prompt, i) => ({ prompt, output: outputs[i]! })) };
}

/** Writes to stdout, waiting while its buffer is full, so that a slow reader keeps memory flat. */
async function write(text: string): Promise<void> {
  if (!process.stdout.write(text)) await once(process.stdout, 'drain');
}

/**
 * Runs the model over the inputs batch by batch (--batch-size at a time), writing each batch's
 * outputs before reading the next: memory stays flat however many lines --file or stdin holds.
 * --json writes the same single object as it goes (`results` filled batch by batch).
 */
export async function inferCommand(model: string, texts: string[], o: InferCommandOptions): Promise<void> {
  const strategy = strategyOf(o);
  const batchSize = o.batchSize ?? DEFAULT_INFER_BATCH;
  if (batchSize > MAX_INFER_BATCH) throw new CliError(`--batch-size: ${batchSize} is over the limit of ${MAX_INFER_BATCH} inputs per model call`, 2);
  const batches = batchesOf(inputLines(texts, o.file), batchSize);
  // The first batch is read before the model loads: a missing file or no input fails fast.
  const first = await batches.next();
  if (first.done) throw new CliError('no input lines to run the model on');
  const runner = await openModel(model, o.device, o.deviceId);
  try {
    reportFallback(runner, o.device);
    const images = modelTask(runner.config) === 'image-classification' ? configAs(runner.config, ['vit-classifier'], 'image inputs') : undefined;
    let done = 0;
    let labelled: { correct: number; total: number } | undefined;
    const run = async (inputs: string[]) => {
      let out: BatchOutput;
      try {
        out = await runBatch(runner, inputs, strategy, o.maxTokens, done);
      } catch (error) {
        throw error instanceof InputError ? error.shifted(done) : error;
      }
      if (out.labelled && done > 0 && !labelled) throw new CliError(`input ${done + 1} ends with a class id but the inputs before it do not; give it on every line or on none`);
      if (!out.labelled && labelled) throw new CliError(`input ${done + 1} has no class id but the inputs before it do; give it on every line or on none`);
      if (o.json) {
        const head = done === 0 ? `${JSON.stringify({ model, preset: runner.config.preset, runtime: runner.runtime, strategy }).slice(0, -1)},"results":[` : ',';
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
    else if (summary) console.error(`accuracy: ${(100 * summary.accuracy).toFixed(2)}% (${summary.correct}/${summary.total} images)`);
  } finally {
    await runner.close();
  }
}
