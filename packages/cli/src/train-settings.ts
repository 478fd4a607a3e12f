// The settings of `attend train`: built-in defaults, then a JSON config file (--config: any
// ModelConfig fields plus the training fields below), then the flags given on the command line.
// Every value remembers where it came from, so an error names the flag, or the file and the
// field, that the user has to change.

import { closest, ConfigError, describe, MAX_SEED, modelKind, PRESETS, readTextFile, type Preset } from '@attend/core';
import { CliError } from './errors.js';
import { captionerSettings } from './models/captioner-flag.js';

/**
 * The largest values `attend train` accepts, whatever the flag or file says: past them a run
 * cannot fit the tfjs wasm heap (4 GiB) or the data is not what the flag expects.
 */
export const TRAIN_LIMITS = {
  /** Examples generated for --task. */
  examples: 1_000_000,
  dModel: 4096,
  dFf: 16_384,
  /** Tokens per training window (decoder-lm) and the model's maxSeqLen from any data. */
  contextLength: 8192,
  /** Distinct characters in the training data (the character vocabulary). */
  vocabSize: 65_536,
} as const;

/** Fields of the config file that configure training rather than the model (`layers`: each stack's layers). */
export const TRAINING_FIELDS = ['steps', 'batchSize', 'gradAccum', 'learningRate', 'seed', 'evalEvery', 'examples', 'devSize', 'contextLength', 'layers'] as const;
type TrainingField = (typeof TRAINING_FIELDS)[number];

const MODEL_FIELDS = [
  'preset', 'numClasses', 'dModel', 'numHeads', 'numEncoderLayers', 'numDecoderLayers', 'dFf', 'maxSeqLen', 'dropout', 'norm',
  'activation', 'positional', 'attention', 'localWindow', 'tieEmbeddings', 'scaleEmbedding', 'embeddingNorm', 'layerNormEps', 'pooling', 'pooler', 'typeVocabSize',
  'rnnCell', 'rnnAttention', 'rnnBidirectional', 'patchSize', 'numChannels', 'pixelScale',
  'visualAttention', 'patchStride', 'featureSize', 'attentionPenalty', 'entropyBonus', 'baselineDecay', 'convChannels',
  'locConvChannels', 'stnTransform',
  // A classifier's class names (config.json `labels`, exported as id2label).
  'labels',
] as const;
/** Set from the data, not from the file. */
const DATA_FIELDS = ['vocabSize', 'padTokenId', 'bosTokenId', 'eosTokenId', 'imageSize', 'imageHeight', 'imageWidth'] as const;

/** The flag of each setting that has one. */
export const FLAG_OF: Record<string, string> = {
  preset: '--preset',
  dModel: '--d-model',
  numHeads: '--heads',
  layers: '--layers',
  numEncoderLayers: '--layers',
  numDecoderLayers: '--layers',
  dFf: '--d-ff',
  steps: '--steps',
  batchSize: '--batch-size',
  gradAccum: '--grad-accum',
  learningRate: '--lr',
  seed: '--seed',
  evalEvery: '--eval-every',
  examples: '--examples',
  devSize: '--dev-size',
  contextLength: '--context-length',
  rnnAttention: '--rnn-attention',
  rnnCell: '--rnn-cell',
  localWindow: '--local-window',
  patchSize: '--patch-size',
  numChannels: '--channels',
  visualAttention: '--captioner',
  convChannels: '--conv-channels',
  locConvChannels: '--loc-conv-channels',
  stnTransform: '--stn-transform',
};

/** ModelConfig fields of any kind, as set by defaults, the file and the flags; the kind picks its own. */
export interface ModelSettings {
  preset?: Preset;
  dModel?: number;
  numHeads?: number;
  numChannels?: number;
  patchSize?: number;
  layers?: number;
  [field: string]: unknown;
}

export interface TrainSettings {
  preset?: Preset;
  steps: number;
  batchSize: number;
  /** Micro-batches per optimizer step (gradient accumulation). */
  gradAccum: number;
  learningRate: number;
  seed: number;
  evalEvery: number;
  examples: number;
  devSize: number;
  contextLength: number;
  /** Model fields from the file and flags (vocabulary, classes and lengths come from the data), and `layers`. */
  model: ModelSettings;
  /** Where each setting came from, for error messages. */
  origin: Record<string, 'default' | 'file' | 'flag'>;
  file?: string;
}

/** The flag values of `attend train`, and which of them were typed on the command line. */
export interface TrainFlags {
  preset?: Preset;
  config?: string;
  dModel: number;
  heads: number;
  layers: number;
  dFf?: number;
  steps: number;
  batchSize: number;
  gradAccum: number;
  lr: number;
  seed: number;
  evalEvery: number;
  examples: number;
  devSize: number;
  contextLength: number;
  /** rnn-seq2seq: the decoder's attention (no default here: other presets must not get it). */
  rnnAttention?: string;
  /** rnn-seq2seq: the recurrent cell (no default here, as rnnAttention). */
  rnnCell?: string;
  /** Local attention window (Transformer self-attention, or local-p's D). */
  localWindow?: number;
  /** vit-classifier: side of a square patch (default: a divisor of the image size near a quarter of it). */
  patchSize?: number;
  /** vit-classifier: channels per pixel of the images CSV (default 1). */
  channels?: number;
  /** image-captioner: none, soft or hard attention; transformer: the vision-encoder-decoder (no default here, as rnnAttention). */
  captioner?: string;
  /** canvas- and stn-classifier: channels of each convolution block (no default here, as rnnAttention). */
  convChannels?: number[];
  /** stn-classifier: channels of the localisation network's convolution blocks (no default here, as rnnAttention). */
  locConvChannels?: number[];
  /** stn-classifier: affine or attention (no default here, as rnnAttention). */
  stnTransform?: string;
}

const FLAG_KEYS: Record<string, keyof TrainFlags> = {
  preset: 'preset', dModel: 'dModel', numHeads: 'heads', layers: 'layers', dFf: 'dFf', steps: 'steps', batchSize: 'batchSize', gradAccum: 'gradAccum',
  learningRate: 'lr', seed: 'seed', evalEvery: 'evalEvery', examples: 'examples', devSize: 'devSize', contextLength: 'contextLength',
  rnnAttention: 'rnnAttention', rnnCell: 'rnnCell', localWindow: 'localWindow', patchSize: 'patchSize', numChannels: 'channels', visualAttention: 'captioner', convChannels: 'convChannels',
  locConvChannels: 'locConvChannels', stnTransform: 'stnTransform',
};

/**
 * Config-file keys spelled as the flags — without the dashes (`d-model`, `batch-size`, `lr`) or
 * as commander's option names (`heads`, `channels`) — and the setting each one names.
 */
const FILE_KEY_ALIASES: Record<string, string> = Object.fromEntries(
  Object.entries(FLAG_KEYS)
    .flatMap(([field, key]) => [[FLAG_OF[field]!.slice(2), field], [key, field]])
    .filter(([alias, field]) => alias !== field),
);

/** Defaults < config file < flags typed on the command line (`fromCli(key)`). */
export async function trainSettings(flags: TrainFlags, fromCli: (key: keyof TrainFlags) => boolean): Promise<TrainSettings> {
  const origin: TrainSettings['origin'] = {};
  const values: Record<string, unknown> = {};
  for (const [field, key] of Object.entries(FLAG_KEYS)) {
    if (flags[key] !== undefined) {
      values[field] = flags[key];
      origin[field] = 'default';
    }
  }
  if (flags.config) {
    for (const [field, value] of Object.entries(await readConfigFile(flags.config))) {
      values[field] = value;
      origin[field] = 'file';
    }
  }
  for (const [field, key] of Object.entries(FLAG_KEYS)) {
    if (fromCli(key) && flags[key] !== undefined) {
      values[field] = flags[key];
      origin[field] = 'flag';
    }
  }
  for (const [field, limit] of Object.entries(TRAIN_LIMITS)) {
    const value = values[field];
    if (typeof value === 'number' && value > limit) {
      throw settingError({ origin, file: flags.config }, field, `${value} is over the limit of ${limit.toLocaleString('en-US')}`);
    }
  }
  if (typeof values.gradAccum === 'number' && typeof values.batchSize === 'number' && values.gradAccum > values.batchSize) {
    throw settingError({ origin, file: flags.config }, 'gradAccum', `${values.gradAccum} micro-batches cannot split a batch of ${values.batchSize}; use at most ${values.batchSize}`);
  }
  const given: ModelSettings = {};
  for (const field of MODEL_FIELDS) if (values[field] !== undefined) (given as Record<string, unknown>)[field] = values[field];
  const model = captionerSettings(given);
  if ('error' in model) throw settingError({ origin, file: flags.config }, 'visualAttention', model.error as string);
  const hasHeads = model.preset === undefined || modelKind(model.preset).fields.includes('numHeads');
  if (hasHeads && model.dModel !== undefined && model.numHeads !== undefined && model.dModel % model.numHeads !== 0) {
    const name = (f: string) => (origin[f] === 'flag' ? FLAG_OF[f]! : f);
    const where = { origin, file: flags.config };
    if (origin.numHeads === 'default' && origin.dModel !== 'default') throw settingError(where, 'dModel', `${model.dModel} is not a multiple of ${name('numHeads')} ${model.numHeads}`);
    throw settingError(where, 'numHeads', `${model.numHeads} does not divide ${name('dModel')} ${model.dModel}`);
  }
  return {
    preset: model.preset,
    steps: values.steps as number,
    batchSize: values.batchSize as number,
    gradAccum: (values.gradAccum as number | undefined) ?? 1,
    learningRate: values.learningRate as number,
    seed: values.seed as number,
    evalEvery: values.evalEvery as number,
    examples: values.examples as number,
    devSize: values.devSize as number,
    contextLength: values.contextLength as number,
    model: { ...model, ...(values.layers !== undefined ? { layers: values.layers as number } : {}) },
    origin,
    file: flags.config,
  };
}

/** A setting's error, naming the flag it came from, or the config file and field. */
export function settingError(s: Pick<TrainSettings, 'origin' | 'file'>, field: string, message: string): CliError {
  if (s.origin[field] === 'flag' && FLAG_OF[field]) return new CliError(`${FLAG_OF[field]}: ${message}`, 2);
  if (s.origin[field] === 'file' && s.file) return new CliError(`${s.file}: ${field}: ${message}`);
  return new CliError(`${field}: ${message}`);
}

/** Rewrites a ConfigError from building the ModelConfig so that it names the flag or the file. */
export function configErrorOf(s: Pick<TrainSettings, 'origin' | 'file'>, error: unknown): unknown {
  if (!(error instanceof ConfigError)) return error;
  const message = error.message.slice(error.field.length + 2);
  const field = s.origin[error.field] !== undefined ? error.field : ['numEncoderLayers', 'numDecoderLayers'].includes(error.field) ? 'layers' : error.field;
  return settingError(s, field, message);
}

/** Reads and checks the config file: an object of known fields with values of the right type. */
async function readConfigFile(path: string): Promise<Record<string, unknown>> {
  const text = await readTextFile(path);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new CliError(`${path}: not valid JSON (${(error as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new CliError(`${path}: expected a JSON object of settings, got ${describe(json)}`);
  const known = [...MODEL_FIELDS, ...TRAINING_FIELDS] as readonly string[];
  const settings: Record<string, unknown> = {};
  const keyOf: Record<string, string> = {}; // as the file spells it, for messages
  for (const [key, value] of Object.entries(json)) {
    const field = FILE_KEY_ALIASES[key] ?? key;
    if (field in settings) throw new CliError(`${path}: ${key}: names the setting ${field} a second time (as ${keyOf[field]}); keep one`);
    settings[field] = value;
    keyOf[field] = key;
  }
  for (const [field, value] of Object.entries(settings)) {
    if ((DATA_FIELDS as readonly string[]).includes(field)) throw new CliError(`${path}: ${field}: set from the training data; remove it from the file`);
    if (!known.includes(field)) {
      const hint = closest(field, [...known, ...Object.keys(FILE_KEY_ALIASES)]);
      throw new CliError(`${path}: ${field}: unknown setting${hint ? `; did you mean '${hint}'?` : ''}`);
    }
    const bad = (expected: string) => new CliError(`${path}: ${keyOf[field]}: ${describe(value)} is not allowed; expected ${expected}`);
    if (field === 'preset' && !(PRESETS as readonly string[]).includes(value as string)) throw bad(`one of ${PRESETS.join(', ')}`);
    if ((TRAINING_FIELDS as readonly string[]).includes(field)) {
      const f = field as TrainingField;
      if (f === 'learningRate') {
        if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) throw bad('a positive number');
      } else if (f === 'seed') {
        if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_SEED) throw bad(`an integer from 0 to ${MAX_SEED}`);
      } else if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
        throw bad('an integer >= 1');
      }
    }
  }
  return settings;
}
