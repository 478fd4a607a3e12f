// `attend translate`: decodes inputs (arguments, --file, or stdin, one per line) with a
// checkpoint (tfjs) or an export folder (onnxruntime-node): greedy, sampling or beam search.

import { createInterface } from 'node:readline';
import { readTextFile, type DecodeStrategy } from '@attend/core';
import type { Device } from '@attend/runtime-onnx/node';
import { CliError } from '../errors.js';
import { openTranslator } from '../translator.js';

export interface TranslateCommandOptions {
  file?: string;
  device: Device;
  beam?: number;
  sample: boolean;
  temperature?: number;
  topK?: number;
  topP?: number;
  seed: number;
  maxTokens?: number;
  json: boolean;
}

function strategyOf(o: TranslateCommandOptions): DecodeStrategy {
  const sampling = o.temperature !== undefined || o.topK !== undefined || o.topP !== undefined;
  if (o.beam !== undefined && (o.sample || sampling)) throw new CliError('--beam cannot be combined with --sample, --temperature, --top-k or --top-p', 2);
  if (sampling && !o.sample) throw new CliError('--temperature, --top-k and --top-p need --sample', 2);
  if (o.beam !== undefined) return { kind: 'beam', beamSize: o.beam };
  if (o.sample) return { kind: 'sample', seed: o.seed, temperature: o.temperature, topK: o.topK, topP: o.topP };
  return { kind: 'greedy' };
}

async function readInputs(texts: string[], file: string | undefined): Promise<string[]> {
  if (texts.length > 0 && file) throw new CliError('give the inputs as arguments or with --file, not both', 2);
  if (texts.length > 0) return texts;
  if (file) return (await readTextFile(file)).split(/\r?\n/).filter((line) => line.length > 0);
  if (process.stdin.isTTY) throw new CliError('no input: pass TEXT arguments, --file FILE, or lines on stdin', 2);
  const lines: string[] = [];
  for await (const line of createInterface({ input: process.stdin })) if (line.length > 0) lines.push(line);
  return lines;
}

export async function translateCommand(model: string, texts: string[], o: TranslateCommandOptions): Promise<void> {
  const strategy = strategyOf(o);
  const inputs = await readInputs(texts, o.file);
  if (inputs.length === 0) throw new CliError('no input lines to translate');
  const translator = await openTranslator(model, o.device);
  try {
    const outputs = await translator.translate(inputs, strategy, o.maxTokens);
    if (o.json) {
      console.log(JSON.stringify({ model, runtime: translator.runtime, strategy, results: inputs.map((source, i) => ({ source, output: outputs[i] })) }));
    } else {
      for (const output of outputs) console.log(output);
    }
  } finally {
    await translator.close();
  }
}
