// `attend infer` (and its alias `attend translate`): runs a checkpoint (tfjs) or an export
// folder (onnxruntime on cpu, cuda or wasm) on inputs from arguments, --file or stdin, one per
// line, as whatever the model is: an encoder–decoder translates, a classifier gives each input's
// label and class probabilities, a decoder-only LM continues each input. A vit-classifier's
// inputs are CSV lines of pixel values (a class id at the end of every line adds the accuracy).
// --json prints one object.

import { configAs, modelTask, type DecodeStrategy } from '@attend/core';
import { CliError } from '../errors.js';
import { imageInputs, readInputs, strategyOf, type StrategyOptions } from '../inputs.js';
import { openModel, type InferDevice, type ModelRunner } from '../runner.js';

export interface InferCommandOptions extends StrategyOptions {
  file?: string;
  device: InferDevice;
  /** cuda: the GPU index. */
  deviceId?: number;
  maxTokens?: number;
  json: boolean;
}

/** Tells on stderr when the device asked for could not start (CUDA missing) and another runs the model. */
export function reportFallback(runner: ModelRunner, device: InferDevice): void {
  if (runner.fallback) console.error(`attend: --device ${device} is unavailable (${runner.fallback.reason}); running on ${runner.device}`);
}

const formatProbabilities = (p: Float32Array) => Array.from(p, (x, k) => `${k}: ${x.toFixed(3)}`).join(', ');

interface RunOutput {
  lines: string[];
  results: object[];
  /** Accuracy over the images whose class id the inputs gave (vit-classifier). */
  summary?: { accuracy: number; correct: number; total: number };
}

async function run(runner: ModelRunner, inputs: string[], strategy: DecodeStrategy, maxTokens: number | undefined): Promise<RunOutput> {
  const task = modelTask(runner.config);
  if (task === 'image-classification') {
    const images = imageInputs(inputs, configAs(runner.config, ['vit-classifier'], 'image inputs'));
    const rows = await runner.classifyImages(images.pixels, images.count);
    const results = rows.map((r, i) => ({ image: i + 1, label: r.label, probabilities: Array.from(r.probabilities, (x) => Number(x.toFixed(6))), ...(images.labels ? { expected: images.labels[i]! } : {}) }));
    const correct = images.labels ? rows.filter((r, i) => r.label === images.labels![i]).length : undefined;
    return {
      lines: rows.map((r) => `${r.label}\t(${formatProbabilities(r.probabilities)})`),
      results,
      ...(correct !== undefined ? { summary: { accuracy: correct / rows.length, correct, total: rows.length } } : {}),
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

export async function inferCommand(model: string, texts: string[], o: InferCommandOptions): Promise<void> {
  const strategy = strategyOf(o);
  const inputs = await readInputs(texts, o.file);
  if (inputs.length === 0) throw new CliError('no input lines to run the model on');
  const runner = await openModel(model, o.device, o.deviceId);
  try {
    reportFallback(runner, o.device);
    const { lines, results, summary } = await run(runner, inputs, strategy, o.maxTokens);
    if (o.json) console.log(JSON.stringify({ model, preset: runner.config.preset, runtime: runner.runtime, strategy, results, ...(summary ? { summary } : {}) }));
    else {
      for (const line of lines) console.log(line);
      // On stderr, so that stdout stays one line per input.
      if (summary) console.error(`accuracy: ${(100 * summary.accuracy).toFixed(2)}% (${summary.correct}/${summary.total} images)`);
    }
  } finally {
    await runner.close();
  }
}
