// What infer, generate and translate share: the inputs (arguments, --file, or stdin one per
// line) and the decoding strategy chosen by --beam / --sample / --temperature / --top-k / --top-p.

import { createInterface } from 'node:readline';
import { readTextFile, type DecodeStrategy } from '@attend/core';
import { CliError } from './errors.js';

export interface StrategyOptions {
  beam?: number;
  sample: boolean;
  temperature?: number;
  topK?: number;
  topP?: number;
  seed: number;
}

export function strategyOf(o: StrategyOptions): DecodeStrategy {
  const sampling = o.temperature !== undefined || o.topK !== undefined || o.topP !== undefined;
  if (o.beam !== undefined && (o.sample || sampling)) throw new CliError('--beam cannot be combined with --sample, --temperature, --top-k or --top-p', 2);
  if (sampling && !o.sample) throw new CliError('--temperature, --top-k and --top-p need --sample', 2);
  if (o.beam !== undefined) return { kind: 'beam', beamSize: o.beam };
  if (o.sample) return { kind: 'sample', seed: o.seed, temperature: o.temperature, topK: o.topK, topP: o.topP };
  return { kind: 'greedy' };
}

/** The input lines: the arguments, else the lines of --file, else stdin's lines (empty lines skipped). */
export async function readInputs(texts: string[], file: string | undefined, options: { allowEmpty?: boolean } = {}): Promise<string[]> {
  if (texts.length > 0 && file) throw new CliError('give the inputs as arguments or with --file, not both', 2);
  if (texts.length > 0) return texts;
  if (file) return (await readTextFile(file)).split(/\r?\n/).filter((line) => line.length > 0);
  if (process.stdin.isTTY) {
    if (options.allowEmpty) return [];
    throw new CliError('no input: pass TEXT arguments, --file FILE, or lines on stdin', 2);
  }
  const lines: string[] = [];
  for await (const line of createInterface({ input: process.stdin })) if (line.length > 0) lines.push(line);
  return lines;
}
