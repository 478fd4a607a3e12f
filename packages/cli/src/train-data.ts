// The training data of `attend train`, by source: a built-in synthetic task (seq2seq or
// classification), a TSV of pairs (seq2seq), a text file (language model), a CSV of
// `text,label` rows (classifier; csv-parse reads quoting, a `text,label` header is skipped),
// or a CSV of images (the image kinds: each row the pixel values, channel by channel and row by
// row, then the label; an optional header row is skipped), or canvases drawn from its digits
// (--task cluttered-digits, see cluttered-digits.ts).

import { parse } from 'csv-parse/sync';
import {
  parseCsvClassification,
  readTextFile,
  readTsvPairs,
  SYNTHETIC_CLASSIFICATION_TASKS,
  SYNTHETIC_TASKS,
  syntheticClassificationTask,
  syntheticTask,
  type LabeledFeatures,
  type LabeledText,
  modelKind,
  type Preset,
  type SyntheticClassificationTaskName,
  type SyntheticTaskName,
  type TextPair,
} from '@attend/core';
import { CLUTTERED_DIGITS_TASK, clutteredDigitsData, type ClutteredDigitsFlags } from './cluttered-digits.js';
import { CliError } from './errors.js';
import { CLI_KINDS } from './models/registry.js';
import { DIGIT_SCENES_TASK, readDigits, sceneShape, sceneSplit, type CaptionFlags, type SceneSplit } from './caption-data.js';

/** Longest source or target accepted from --pairs, in characters: maxSeqLen follows the longest pair. */
const MAX_PAIR_CHARS = 1000;

export type TrainData =
  | { preset: 'encoder-decoder'; pairs: TextPair[]; source: string }
  | { preset: 'decoder-lm'; text: string; source: string }
  | { preset: 'encoder-classifier'; examples: LabeledText[]; numClasses: number; source: string }
  // Images, for every image-classification kind (the vit-classifier is the default one).
  | ({ preset: 'vit-classifier'; source: string } & ImageData)
  | { preset: 'image-captioner'; train: SceneSplit; dev: SceneSplit; height: number; width: number; maxDigits: number; source: string };

/** Labelled square images and what the model needs to know of them. */
export interface ImageData {
  images: LabeledFeatures[];
  numClasses: number;
  imageSize: number;
  numChannels: number;
  /** 1 / the largest pixel value of the file (when above 1), so the model sees values in [0, 1]. */
  pixelScale: number;
  /** A dev set made apart from `images` (cluttered-digits: canvases of other digits); absent, the dev set is split from `images`. */
  dev?: LabeledFeatures[];
}

export interface DataFlags extends ClutteredDigitsFlags, CaptionFlags {
  task?: string;
  pairs?: string;
  text?: string;
  csv?: string;
  images?: string;
}

/** The preset the data is for. */
export function presetOfData(o: DataFlags): Preset | undefined {
  if (o.text) return 'decoder-lm';
  if (o.csv) return 'encoder-classifier';
  if (o.images || o.task === CLUTTERED_DIGITS_TASK) return 'vit-classifier';
  if (o.pairs) return 'encoder-decoder';
  if (o.task === DIGIT_SCENES_TASK) return 'image-captioner';
  if (o.task) return isClassificationTask(o.task) ? 'encoder-classifier' : 'encoder-decoder';
  return undefined;
}

const IMAGE_FLAGS = `--images FILE.csv, or --task ${CLUTTERED_DIGITS_TASK} --images digits8x8.csv`;

function isClassificationTask(task: string): task is SyntheticClassificationTaskName {
  return (SYNTHETIC_CLASSIFICATION_TASKS as readonly string[]).includes(task);
}

const FLAG_OF_PRESET: Record<Preset, string> = {
  'encoder-decoder': `--pairs FILE.tsv or --task ${SYNTHETIC_TASKS.join('|')}`,
  'rnn-seq2seq': `--pairs FILE.tsv or --task ${SYNTHETIC_TASKS.join('|')}`,
  'vit-classifier': IMAGE_FLAGS,
  'canvas-classifier': IMAGE_FLAGS,
  'stn-classifier': IMAGE_FLAGS,
  'glimpse-classifier': IMAGE_FLAGS,
  'decoder-lm': '--text FILE',
  'encoder-classifier': `--csv FILE.csv or --task ${SYNTHETIC_CLASSIFICATION_TASKS.join('|')}`,
  'image-captioner': `--task ${DIGIT_SCENES_TASK} --digits-csv FILE`,
  'vision-encoder-decoder': `--task ${DIGIT_SCENES_TASK} --digits-csv FILE`,
};

/**
 * Loads the one data source given, checking that it suits `preset` (its CliKind's `train.data`:
 * pairs serve both encoder–decoders, the Transformer and the GRU one).
 */
export async function loadTrainData(o: DataFlags, requested: Preset, opts: { examples: number; seed: number; devSize: number; numChannels?: number }): Promise<TrainData> {
  const preset = CLI_KINDS[requested].train.data;
  const cluttered = o.task === CLUTTERED_DIGITS_TASK;
  if (cluttered && o.images === undefined) throw new CliError(`--task ${CLUTTERED_DIGITS_TASK} draws its canvases from digits: give --images digits8x8.csv`, 2);
  const given = (['task', 'pairs', 'text', 'csv', 'images'] as const).filter((k) => o[k] !== undefined && !(cluttered && k === 'images'));
  if (given.length === 0) throw new CliError(`no training data: give ${FLAG_OF_PRESET[preset]}`, 2);
  if (given.length > 1) throw new CliError(`give one data source, not ${given.map((k) => `--${k}`).join(' and ')}`, 2);
  const dataPreset = presetOfData(o)!;
  if (dataPreset !== preset) throw new CliError(`--${given[0]} is data for ${dataPreset}, but the preset is ${requested}; for ${requested} give ${FLAG_OF_PRESET[requested]}`, 2);
  const taskFlag = (['canvasSize', 'digitSize', 'rotate', 'clutter'] as const).find((k) => o[k] !== undefined && !(k === 'clutter' && o.task === DIGIT_SCENES_TASK));
  if (taskFlag && !cluttered) throw new CliError(`--${taskFlag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} sets the canvases of --task ${CLUTTERED_DIGITS_TASK}; it does nothing for --${given[0]}`, 2);
  if (o.pairs) return { preset, pairs: await readTsvPairs(o.pairs, { maxFieldLength: MAX_PAIR_CHARS }), source: o.pairs } as TrainData;
  if (o.text) return { preset: 'decoder-lm', text: await readTextFile(o.text), source: o.text };
  if (cluttered) {
    const source = `task ${CLUTTERED_DIGITS_TASK} (${o.images})`;
    return { preset: 'vit-classifier', ...clutteredDigitsData(await readImageCsv(o.images!, 1), o, { ...opts, source: o.images! }), source };
  }
  if (o.images) return { preset: 'vit-classifier', ...(await readImageCsv(o.images, opts.numChannels ?? 1)), source: o.images };
  if (o.csv) {
    const examples = await readTextCsv(o.csv);
    return { preset: 'encoder-classifier', examples, numClasses: examples.reduce((n, e) => Math.max(n, e.label), 0) + 1, source: o.csv };
  }
  const task = o.task!;
  if (task === DIGIT_SCENES_TASK) {
    const rows = await readDigits(o);
    const shape = sceneShape(o);
    const dev = Math.min(opts.devSize, opts.examples);
    return { preset: 'image-captioner', train: sceneSplit(rows, 'train', opts.examples, opts.seed, o), dev: sceneSplit(rows, 'dev', dev, opts.seed, o), height: shape.height, width: shape.width, maxDigits: shape.maxDigits, source: `task ${task} (${o.digitsCsv})` };
  }
  if (isClassificationTask(task)) {
    const examples = syntheticClassificationTask(task, { count: opts.examples, seed: opts.seed });
    return { preset: 'encoder-classifier', examples, numClasses: 2, source: `task ${task}` };
  }
  return { preset: 'encoder-decoder', pairs: syntheticTask(task as SyntheticTaskName, { count: opts.examples, seed: opts.seed }), source: `task ${task}` };
}

/** `text,label` rows; labels are class ids 0, 1, …; an optional first row `text,label` is a header. */
export async function readTextCsv(path: string): Promise<LabeledText[]> {
  const examples = parseTextCsv(await readTextFile(path), path);
  if (examples.length < 2) throw new CliError(`${path}: need at least 2 labelled rows to train, got ${examples.length}`);
  const classes = new Set(examples.map((e) => e.label)).size;
  if (classes < 2) throw new CliError(`${path}: every row has label ${examples[0]!.label}; a classifier needs at least 2 classes`);
  return examples;
}

/**
 * The rows of a classifier's CSV (`content` of `path`): `text,label` rows, or `text,pair,label`
 * rows of sentence pairs (every row the same), header skipped; a one-line error naming the line
 * of a bad row.
 */
export function parseTextCsv(content: string, path: string): LabeledText[] {
  let rows: { record: string[]; info: { lines: number } }[];
  try {
    rows = parse(content, { info: true, skip_empty_lines: true, relax_column_count: true }) as unknown as { record: string[]; info: { lines: number } }[];
  } catch (error) {
    throw new CliError(`${path}: not valid CSV (${(error as Error).message.split('\n')[0]})`);
  }
  if (rows.length > 0 && rows[0]!.record.at(-1)?.trim().toLowerCase() === 'label') rows = rows.slice(1);
  const columns = rows[0]?.record.length === 3 ? 3 : 2;
  const layout = columns === 3 ? 'text,pair,label' : 'text,label';
  return rows.map(({ record, info }) => {
    if (record.length !== columns) throw new CliError(`${path}: line ${info.lines}: expected ${columns} columns (${layout}, as the first row), found ${record.length}`);
    const [text, label] = [record[0]!, record[columns - 1]!];
    const pair = columns === 3 ? record[1]! : undefined;
    if (pair === '') throw new CliError(`${path}: line ${info.lines}: empty pair text`);
    const id = Number(label.trim());
    if (label.trim() === '' || !Number.isInteger(id) || id < 0) throw new CliError(`${path}: line ${info.lines}: label must be a class id 0, 1, …, got ${JSON.stringify(label)}`);
    if (text.length === 0) throw new CliError(`${path}: line ${info.lines}: empty text`);
    return pair === undefined ? { text, label: id } : { text, label: id, pair };
  });
}

/** Whether a line of an images CSV is its header: some field is not a number. */
export function isImageCsvHeader(line: string): boolean {
  return line.split(',').some((f) => f.trim() === '' || !Number.isFinite(Number(f)));
}

/**
 * Images as CSV rows: C·S·S pixel values (channel, row, column) then the class id; S follows
 * from the column count and `numChannels`. A first row with a non-numeric field is a header.
 */
export async function readImageCsv(path: string, numChannels: number): Promise<ImageData> {
  const text = await readTextFile(path);
  const firstLine = text.replace(/^\uFEFF/, '').split('\n', 1)[0] ?? '';
  const images = parseCsvClassification(text, { source: path, header: isImageCsvHeader(firstLine) });
  const values = images[0]!.features.length;
  const imageSize = Math.round(Math.sqrt(values / numChannels));
  if (imageSize < 1 || numChannels * imageSize * imageSize !== values) {
    throw new CliError(`${path}: ${values} pixel values per row are not ${numChannels} channel${numChannels === 1 ? '' : 's'} × S × S for a square image (set --channels)`);
  }
  if (images.length < 2) throw new CliError(`${path}: need at least 2 labelled images to train, got ${images.length}`);
  const numClasses = images.reduce((n, r) => Math.max(n, r.label), 0) + 1;
  if (new Set(images.map((r) => r.label)).size < 2) throw new CliError(`${path}: every image has label ${images[0]!.label}; a classifier needs at least 2 classes`);
  let top = 0;
  for (const r of images) for (const x of r.features) top = Math.max(top, x);
  return { images, numClasses, imageSize, numChannels, pixelScale: top > 1 ? 1 / top : 1 };
}
