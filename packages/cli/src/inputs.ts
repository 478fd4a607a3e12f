// What infer, generate and translate share: the inputs (arguments, --file, or stdin one per
// line), the decoding strategy chosen by --beam / --sample / --temperature / --top-k / --top-p,
// the length (--max-new-tokens, alias --max-tokens; --sliding-window) and the warning for input
// the tokenizer does not know.

import { readTextLines, textLines, unknownText, unknownTextWarning, type DecodeStrategy, type ModelConfig, type Tokenizer, type ImageClassifierConfig, type ImageToTextConfig } from '@attend/core';
import { CliError, InputError } from './errors.js';
import { isImageCsvHeader } from './train-data.js';

/** The most beams the CLI and `attend serve` search with: K·V candidates per row and K cache copies. */
export const MAX_BEAMS = 16;
/** Inputs per model call of `attend infer` when --batch-size is not given. */
export const DEFAULT_INFER_BATCH = 32;
/** The largest --batch-size of `attend infer`: a batch's arrays grow with it, so it is capped whatever the flag says. */
export const MAX_INFER_BATCH = 1024;

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
  if (o.beam !== undefined && o.beam > MAX_BEAMS) throw new CliError(`--beam: ${o.beam} beams is over the limit of ${MAX_BEAMS}`, 2);
  if (o.beam !== undefined) return { kind: 'beam', beamSize: o.beam };
  if (o.sample) return { kind: 'sample', seed: o.seed, temperature: o.temperature, topK: o.topK, topP: o.topP };
  return { kind: 'greedy' };
}

export interface LengthOptions {
  maxNewTokens?: number;
  /** The older spelling of --max-new-tokens. */
  maxTokens?: number;
  slidingWindow?: boolean;
}

/**
 * New tokens at most with --sliding-window, where the context no longer bounds them: each row's
 * tokens are kept (and copied once per step), so the time and memory of a generation grow with it.
 */
export const MAX_SLIDING_TOKENS = 10_000;

/** --max-new-tokens, or its alias --max-tokens (both given must agree; a usage error otherwise). */
export function maxNewTokensOf(o: LengthOptions): number | undefined {
  if (o.maxNewTokens !== undefined && o.maxTokens !== undefined && o.maxNewTokens !== o.maxTokens) {
    throw new CliError(`--max-new-tokens ${o.maxNewTokens} and --max-tokens ${o.maxTokens} (its alias) disagree; give one`, 2);
  }
  const n = o.maxNewTokens ?? o.maxTokens;
  if (o.slidingWindow && n !== undefined && n > MAX_SLIDING_TOKENS) {
    throw new CliError(`--max-new-tokens: ${n} is over the limit of ${MAX_SLIDING_TOKENS} with --sliding-window`, 2);
  }
  return n;
}

/**
 * Warns on stderr, in one line, when the tokenizer reads some of the inputs as <unk>: how many
 * tokens, in how many inputs, and which characters (or words), up to a few.
 */
export function warnUnknown(tokenizer: Tokenizer | undefined, inputs: readonly string[]): void {
  if (!tokenizer) return;
  let count = 0;
  let affected = 0;
  const pieces = new Set<string>();
  for (const input of inputs) {
    const unknown = unknownText(tokenizer, input);
    if (unknown.count === 0) continue;
    affected += 1;
    count += unknown.count;
    for (const piece of unknown.pieces) pieces.add(piece);
  }
  const line = unknownTextWarning({ count, pieces: [...pieces] }, inputs.length === 1 ? 'the input' : `${affected} of ${inputs.length} inputs`);
  if (line) console.error(`attend: warning: ${line}`);
}

/**
 * The input lines as they come, empty lines skipped: the arguments, else the lines of --file
 * (`-`: stdin), else stdin's lines. Files and stdin are read as streams, never whole.
 */
export function inputLines(texts: string[], file: string | undefined, options: { allowEmpty?: boolean } = {}): AsyncIterable<string> {
  if (texts.length > 0 && file) throw new CliError('give the inputs as arguments or with --file, not both', 2);
  if (texts.length > 0) return fromArray(texts);
  if (file === '-') return textLines(process.stdin, 'stdin');
  if (file) return readTextLines(file);
  if (process.stdin.isTTY) {
    if (options.allowEmpty) return fromArray([]);
    throw new CliError('no input: pass TEXT arguments, --file FILE, or lines on stdin', 2);
  }
  return textLines(process.stdin, 'stdin');
}

async function* fromArray<T>(items: readonly T[]): AsyncGenerator<T> {
  yield* items;
}

/** `items` in arrays of `size` (the last one shorter), each given as soon as it is full. */
export async function* batchesOf<T>(items: AsyncIterable<T>, size: number): AsyncGenerator<T[]> {
  let batch: T[] = [];
  for await (const item of items) {
    batch.push(item);
    if (batch.length === size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

/** Images read from input lines, as one [N, C, S, S] array, with the labels the lines carried. */
export interface ImageInputs {
  pixels: Float32Array;
  count: number;
  /** Each image's class id when every line ends with one (the training CSV's layout), else undefined. */
  labels?: number[];
}

/** Whether `line` is the header of an images CSV for `config`: a row's column count, some field not a number (a lone word is a bad input). */
/** The pixel values per image of an image model (image classifiers C × S × S, captioners H × W) and how to name them. */
export function pixelShape(config: ImageClassifierConfig | ImageToTextConfig): { size: number; text: string } {
  if ('numChannels' in config) return { size: config.numChannels * config.imageSize ** 2, text: `${config.numChannels} × ${config.imageSize} × ${config.imageSize}` };
  return { size: config.imageHeight * config.imageWidth, text: `${config.imageHeight} × ${config.imageWidth}` };
}

export function isImageHeader(line: string, config: ImageClassifierConfig | ImageToTextConfig): boolean {
  const { size } = pixelShape(config);
  const columns = line.split(',').length;
  return (columns === size || columns === size + 1) && isImageCsvHeader(line);
}

/**
 * An image classifier's inputs: each line C·S·S comma-separated pixel values (channel, row, column),
 * optionally followed by the class id; with `header` (the default), a first line that
 * `isImageHeader` is skipped.
 */
export function imageInputs(lines: readonly string[], config: ImageClassifierConfig | ImageToTextConfig, { header = true }: { header?: boolean } = {}): ImageInputs {
  const { size, text } = pixelShape(config);
  const rows = header && lines.length > 0 && isImageHeader(lines[0]!, config) ? lines.slice(1) : lines;
  if (rows.length === 0) throw new CliError('no images: each input is a line of comma-separated pixel values');
  const pixels = new Float32Array(rows.length * size);
  const labels: number[] = [];
  rows.forEach((line, i) => {
    const values = line.split(',').map((f) => (f.trim() === '' ? NaN : Number(f)));
    const bad = values.findIndex((x) => !Number.isFinite(x));
    if (bad >= 0) throw new InputError(i + 1, `: value ${bad + 1} is not a number: ${JSON.stringify(line.split(',')[bad])}`);
    if (values.length !== size && values.length !== size + 1) {
      throw new InputError(i + 1, `: ${values.length} values; the model takes ${text} = ${size} pixel values (and an optional class id after them)`);
    }
    if (values.length === size + 1) {
      const label = values[size]!;
      if (!Number.isInteger(label) || label < 0) throw new InputError(i + 1, `: the last value (class id) must be an integer >= 0, got ${label}`);
      labels.push(label);
    }
    pixels.set(values.slice(0, size), i * size);
  });
  if (labels.length !== 0 && labels.length !== rows.length) throw new CliError('some inputs end with a class id and some do not; give it on every line or on none');
  return { pixels, count: rows.length, ...(labels.length > 0 ? { labels } : {}) };
}
