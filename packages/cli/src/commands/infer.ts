// `attend infer` (and its alias `attend translate`): runs a checkpoint (tfjs) or an export
// folder (onnxruntime on cpu, cuda or wasm) on inputs from arguments, --file or stdin, one per
// line, as whatever the model is: an encoder–decoder translates, a classifier gives each input's
// label and class probabilities, a decoder-only LM continues each input. Labelled inputs add the
// accuracy: a vit-classifier's CSV lines of pixel values that end in a class id, or an
// encoder-classifier's --file in its training layout (`text,label` rows).
// --json prints one object; every result has `input` and `output` (the text, or the class id),
// plus its task's fields.

import { configAs, modelTask, readTextFile, type Classification, type DecodeStrategy, type FinishReason } from '@attend/core';
import { aPreset, CliError } from '../errors.js';
import { imageInputs, maxNewTokensOf, readInputs, strategyOf, warnUnknown, type LengthOptions, type StrategyOptions } from '../inputs.js';
import { openModel, type InferDevice, type ModelRunner } from '../runner.js';
import { parseTextCsv } from '../train-data.js';

export interface InferCommandOptions extends StrategyOptions, LengthOptions {
  file?: string;
  device: InferDevice;
  /** cuda: the GPU index. */
  deviceId?: number;
  json: boolean;
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

interface RunOutput {
  lines: string[];
  results: object[];
  /** Accuracy over the inputs whose class id was given (vit-classifier CSV lines, encoder-classifier --file rows). */
  summary?: { accuracy: number; correct: number; total: number };
}

/** Classified inputs as lines and results, with the accuracy when the inputs carried labels. */
function classified(inputs: readonly string[], rows: readonly Classification[], labels: readonly number[] | undefined): RunOutput {
  const correct = labels ? rows.filter((r, i) => r.label === labels[i]).length : undefined;
  return {
    lines: rows.map((r) => `${r.label}\t(${formatProbabilities(r.probabilities)})`),
    results: rows.map((r, i) => ({ input: inputs[i]!, output: r.label, probabilities: Array.from(r.probabilities, (x) => Number(x.toFixed(6))), ...(labels ? { expected: labels[i]! } : {}) })),
    ...(correct !== undefined ? { summary: { accuracy: correct / rows.length, correct, total: rows.length } } : {}),
  };
}

/** An encoder-classifier's --file in the training layout (`text,label` rows): the texts and their labels; undefined for plain lines. */
async function labelledFile(file: string | undefined): Promise<{ texts: string[]; labels: number[] } | undefined> {
  if (!file) return undefined;
  let rows;
  try {
    rows = parseTextCsv(await readTextFile(file), file);
  } catch {
    return undefined; // not the training layout: one input per line
  }
  return rows.length > 0 ? { texts: rows.map((r) => r.text), labels: rows.map((r) => r.label) } : undefined;
}

async function run(runner: ModelRunner, inputs: string[], o: InferCommandOptions, strategy: DecodeStrategy): Promise<RunOutput> {
  const task = modelTask(runner.config);
  const maxNewTokens = maxNewTokensOf(o);
  if (o.slidingWindow && task !== 'text-generation') throw new CliError(`--sliding-window: for a decoder-lm; this model is ${aPreset(runner.config.preset)}`, 2);
  if (task === 'image-classification') {
    const images = imageInputs(inputs, configAs(runner.config, ['vit-classifier'], 'image inputs'));
    const rows = await runner.classifyImages(images.pixels, images.count);
    const lines = inputs.length === images.count ? inputs : inputs.slice(1); // the header, when there was one
    return classified(lines, rows, images.labels);
  }
  if (task === 'text-classification') {
    const labelled = await labelledFile(o.file);
    const texts = labelled?.texts ?? inputs;
    warnUnknown(runner.tokenizer, texts);
    return classified(texts, await runner.classify(texts), labelled?.labels);
  }
  warnUnknown(runner.tokenizer, inputs);
  if (task === 'translation') {
    const outputs = await runner.translate(inputs, strategy, maxNewTokens);
    outputs.forEach((t, i) => reportContext(t.finishReason, runner.config.maxSeqLen, inputs.length === 1 ? 'the translation' : `input ${i + 1}`, false));
    return { lines: outputs.map((t) => t.output), results: inputs.map((input, i) => ({ input, ...outputs[i]! })) };
  }
  const results: { input: string; output: string; finishReason: FinishReason }[] = [];
  for (const [i, input] of inputs.entries()) {
    const { output, finishReason } = await runner.generate(input, { strategy, ...(maxNewTokens !== undefined ? { maxNewTokens } : {}), slidingWindow: o.slidingWindow ?? false });
    reportContext(finishReason, runner.config.maxSeqLen, inputs.length === 1 ? 'the generation' : `input ${i + 1}`);
    results.push({ input, output, finishReason });
  }
  return { lines: results.map((r) => r.output), results };
}

/** `attend infer`, or as `attend translate` (`command`), which takes only encoder–decoders. */
export async function inferCommand(model: string, texts: string[], o: InferCommandOptions, command: 'infer' | 'translate' = 'infer'): Promise<void> {
  const strategy = strategyOf(o);
  maxNewTokensOf(o);
  const inputs = await readInputs(texts, o.file);
  if (inputs.length === 0) throw new CliError('no input lines to run the model on');
  const runner = await openModel(model, o.device, o.deviceId);
  try {
    if (command === 'translate' && modelTask(runner.config) !== 'translation') {
      const use = modelTask(runner.config) === 'text-generation' ? 'attend generate' : 'attend infer';
      throw new CliError(`${model}: ${aPreset(runner.config.preset)} model; translate needs an encoder-decoder or rnn-seq2seq (use ${use})`);
    }
    reportFallback(runner, o.device);
    const { lines, results, summary } = await run(runner, inputs, o, strategy);
    const decodes = modelTask(runner.config) === 'translation' || modelTask(runner.config) === 'text-generation';
    if (o.json) console.log(JSON.stringify({ model, preset: runner.config.preset, runtime: runner.runtime, ...(decodes ? { strategy } : {}), results, ...(summary ? { summary } : {}) }));
    else {
      for (const line of lines) console.log(line);
      // On stderr, so that stdout stays one line per input.
      if (summary) console.error(`accuracy: ${(100 * summary.accuracy).toFixed(2)}% (${summary.correct}/${summary.total} ${modelTask(runner.config) === 'image-classification' ? 'images' : 'inputs'})`);
    }
  } finally {
    await runner.close();
  }
}
