// ModelConfig: the plain, JSON-serialisable description of a model that every package
// reads (tfjs layers, the ONNX exporter, the CLI). Validated once, here, at the edge:
// a bad value gets one ConfigError naming the field, the value and what is allowed.

import { ConfigError } from './errors.js';

/** The Transformer presets (Vaswani et al., 2017; GPT; encoder + classifier head). */
export const TRANSFORMER_PRESETS = ['encoder-classifier', 'decoder-lm', 'encoder-decoder'] as const;
/**
 * Every preset: the Transformer ones, the GRU encoder–decoder of the seeds (Bahdanau, Luong), and
 * the vision Transformer classifier (Dosovitskiy et al., 2021: image patches → encoder → CLS → classes).
 */
export const PRESETS = [...TRANSFORMER_PRESETS, 'rnn-seq2seq', 'vit-classifier'] as const;
/** Recurrent cells of the rnn-seq2seq preset (GRU, Cho et al., 2014). */
export const RNN_CELLS = ['gru', 'lstm'] as const;
/**
 * Attention of the rnn-seq2seq decoder: none (Sutskever/Cho), additive (Bahdanau et al., 2015:
 * scores from the previous decoder state, context fed into the cell), and Luong et al.'s (2015)
 * global dot / general / concat and local-p (predicted window centre, Gaussian weighting) over the
 * current decoder state, with input feeding.
 */
export const RNN_ATTENTIONS = ['none', 'additive', 'dot', 'general', 'concat', 'local-p'] as const;
export const NORM_PLACEMENTS = ['pre', 'post'] as const;
export const ACTIVATIONS = ['relu', 'gelu'] as const;
export const POSITIONAL_ENCODINGS = ['sinusoidal', 'learned', 'rope', 'alibi'] as const;
/** Score functions: Vaswani (scaled_dot), Luong (dot, general), Bahdanau (additive), cosine (Graves). */
export const SCORE_FUNCTIONS = ['scaled_dot', 'dot', 'general', 'additive', 'cosine'] as const;
export const POOLINGS = ['mean', 'cls'] as const;

export type Preset = (typeof PRESETS)[number];
export type NormPlacement = (typeof NORM_PLACEMENTS)[number];
export type Activation = (typeof ACTIVATIONS)[number];
export type PositionalEncoding = (typeof POSITIONAL_ENCODINGS)[number];
export type ScoreFunction = (typeof SCORE_FUNCTIONS)[number];
export type Pooling = (typeof POOLINGS)[number];
export type RnnCell = (typeof RNN_CELLS)[number];
export type RnnAttention = (typeof RNN_ATTENTIONS)[number];

export interface ModelConfig {
  /** Architecture: Transformer encoder + classifier head, decoder-only LM or encoder–decoder, or the GRU encoder–decoder. */
  preset: Preset;
  /** Token vocabulary size; one vocabulary is shared by encoder and decoder. */
  vocabSize: number;
  /** Number of labels of the classifier head (encoder-classifier only, else 0). */
  numClasses: number;
  dModel: number;
  numHeads: number;
  /** Encoder layers (0 for decoder-lm). */
  numEncoderLayers: number;
  /** Decoder layers (0 for encoder-classifier). */
  numDecoderLayers: number;
  /** Hidden width of the position-wise feed-forward network. */
  dFf: number;
  /** Longest sequence the model accepts (size of the learned/sinusoidal position table). */
  maxSeqLen: number;
  /** Dropout rate on embeddings, attention weights and residual branches during training. */
  dropout: number;
  /** Layer norm before each sublayer (GPT-2) or after the residual add (Vaswani et al.). */
  norm: NormPlacement;
  activation: Activation;
  positional: PositionalEncoding;
  attention: ScoreFunction;
  /**
   * Luong-style local attention: self-attention sees only keys with |i - j| <= localWindow. null = global.
   * rnn-seq2seq with rnnAttention 'local-p': the half-width D of the window around p_t (σ = D/2); else null.
   */
  localWindow: number | null;
  /** Output projection shares the token embedding matrix (Press & Wolf, 2017). */
  tieEmbeddings: boolean;
  /**
   * Token embeddings times √dModel (Vaswani et al. §3.4; Marian/BART's `scale_embedding`), with
   * tables initialised at std 1/√dModel. false = GPT-2 style: no factor, tables at std 0.02.
   */
  scaleEmbedding: boolean;
  layerNormEps: number;
  /** How the classifier pools the encoder output: mean over valid tokens, or the first token. */
  pooling: Pooling;
  padTokenId: number;
  bosTokenId: number;
  eosTokenId: number;
  /** rnn-seq2seq only (absent otherwise): the recurrent cell. dModel is the embedding and hidden size. */
  rnnCell?: RnnCell;
  /** rnn-seq2seq only: the decoder's attention over the encoder states. */
  rnnAttention?: RnnAttention;
  /** rnn-seq2seq only: bidirectional encoder, dModel/2 units per direction (dModel must be even). */
  rnnBidirectional?: boolean;
  /** vit-classifier only (absent otherwise): side of the square input image, in pixels. */
  imageSize?: number;
  /** vit-classifier only: side of a square patch; divides imageSize. */
  patchSize?: number;
  /** vit-classifier only: channels per pixel (images are [C, H, W] row-major). */
  numChannels?: number;
  /**
   * vit-classifier only: factor the model applies to raw pixel values before the patch
   * embedding (HF's `rescale_factor`, e.g. 1/255 or 1/16), so inputs are the values as stored.
   * Default 1; config.json files written before the field existed mean 1.
   */
  pixelScale?: number;
}

/** Fields that only the rnn-seq2seq preset has (required there, rejected elsewhere). */
const RNN_FIELDS = ['rnnCell', 'rnnAttention', 'rnnBidirectional'] as const;
/** Fields that only the vit-classifier preset has. */
const VIT_FIELDS = ['imageSize', 'patchSize', 'numChannels', 'pixelScale'] as const;
/** The vit fields a config must spell out (pixelScale defaults to 1). */
const VIT_REQUIRED = ['imageSize', 'patchSize', 'numChannels'] as const;

/** What a caller may pass: the preset and vocabulary are required, everything else has a default. */
export type ModelConfigInput = Partial<ModelConfig> & Pick<ModelConfig, 'preset' | 'vocabSize'>;

const FIELDS: readonly (keyof ModelConfig)[] = [
  'preset', 'vocabSize', 'numClasses', 'dModel', 'numHeads', 'numEncoderLayers', 'numDecoderLayers',
  'dFf', 'maxSeqLen', 'dropout', 'norm', 'activation', 'positional', 'attention', 'localWindow',
  'tieEmbeddings', 'scaleEmbedding', 'layerNormEps', 'pooling', 'padTokenId', 'bosTokenId', 'eosTokenId',
];
const ALL_FIELDS: readonly string[] = [...FIELDS, ...RNN_FIELDS, ...VIT_FIELDS];

/** Defaults for a small model that trains in minutes on a CPU. */
export function presetDefaults(preset: Preset): Omit<ModelConfig, 'vocabSize'> {
  if (preset === 'vit-classifier') {
    // 8×8 single-channel images in 2×2 patches: 16 patch tokens + CLS.
    return {
      ...presetDefaults('encoder-classifier'),
      preset,
      dModel: 64,
      dFf: 128,
      maxSeqLen: 17,
      positional: 'learned',
      pooling: 'cls',
      imageSize: 8,
      patchSize: 2,
      numChannels: 1,
      pixelScale: 1,
    };
  }
  if (preset === 'rnn-seq2seq') {
    return {
      ...presetDefaults('encoder-decoder'),
      preset,
      numHeads: 1,
      numEncoderLayers: 1,
      numDecoderLayers: 1,
      rnnCell: 'gru',
      rnnAttention: 'general',
      rnnBidirectional: true,
    };
  }
  return {
    preset,
    numClasses: 0,
    dModel: 128,
    numHeads: 4,
    numEncoderLayers: preset === 'decoder-lm' ? 0 : 2,
    numDecoderLayers: preset === 'encoder-classifier' ? 0 : 2,
    dFf: 512,
    maxSeqLen: 128,
    dropout: 0.1,
    norm: 'pre',
    activation: 'gelu',
    positional: 'sinusoidal',
    attention: 'scaled_dot',
    localWindow: null,
    tieEmbeddings: true,
    scaleEmbedding: true,
    layerNormEps: 1e-5,
    pooling: 'mean',
    padTokenId: 0,
    bosTokenId: 1,
    eosTokenId: 2,
  };
}

/** Fills defaults for the preset and validates; throws ConfigError on the first bad field. */
export function createModelConfig(input: ModelConfigInput): ModelConfig {
  return validateModelConfig({ ...presetDefaults(checkPreset(input.preset)), ...dropUndefined(input) });
}

/** Parses a config.json text (or object); unknown fields and missing fields are errors. */
export function parseModelConfig(json: string | unknown, source = 'config.json'): ModelConfig {
  let value: unknown = json;
  if (typeof json === 'string') {
    try {
      value = JSON.parse(json);
    } catch (error) {
      // V8's message quotes the text, newlines included: keep it on one line.
      throw new ConfigError(source, `not valid JSON (${(error as Error).message.replace(/\s+/g, ' ')})`);
    }
  }
  if (!isRecord(value)) throw new ConfigError(source, `expected a JSON object, got ${describe(value)}`);
  try {
    return validateModelConfig(value);
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigError(`${source}: ${error.field}`, error.message.slice(error.field.length + 2));
    throw error;
  }
}

/** Fields added after the first config.json files were written, with the value those files meant. */
const LATER_FIELDS: Partial<ModelConfig> = { scaleEmbedding: true };

/** Checks every field of a complete config; returns a clean copy holding only known fields. */
export function validateModelConfig(input: unknown): ModelConfig {
  if (!isRecord(input)) throw new ConfigError('config', `expected an object, got ${describe(input)}`);
  const value: Record<string, unknown> = { ...LATER_FIELDS, ...input };
  for (const key of Object.keys(value)) {
    if (!ALL_FIELDS.includes(key)) {
      const hint = closest(key, ALL_FIELDS);
      throw new ConfigError(key, `unknown field${hint ? `; did you mean '${hint}'?` : ''} (known: ${ALL_FIELDS.join(', ')})`);
    }
  }
  for (const key of FIELDS) {
    if (!(key in value) || value[key] === undefined) throw new ConfigError(key, 'missing');
  }
  const v = value as Record<keyof ModelConfig, unknown>;
  const preset = checkPreset(v.preset);
  const config: ModelConfig = {
    preset,
    vocabSize: int(v, 'vocabSize', 1),
    numClasses: int(v, 'numClasses', 0),
    dModel: int(v, 'dModel', 1),
    numHeads: int(v, 'numHeads', 1),
    numEncoderLayers: int(v, 'numEncoderLayers', 0),
    numDecoderLayers: int(v, 'numDecoderLayers', 0),
    dFf: int(v, 'dFf', 1),
    maxSeqLen: int(v, 'maxSeqLen', 1),
    dropout: num(v, 'dropout', 0, 1, false),
    norm: oneOf(v, 'norm', NORM_PLACEMENTS),
    activation: oneOf(v, 'activation', ACTIVATIONS),
    positional: oneOf(v, 'positional', POSITIONAL_ENCODINGS),
    attention: oneOf(v, 'attention', SCORE_FUNCTIONS),
    localWindow: v.localWindow === null ? null : int(v, 'localWindow', 1),
    tieEmbeddings: bool(v, 'tieEmbeddings'),
    scaleEmbedding: bool(v, 'scaleEmbedding'),
    layerNormEps: num(v, 'layerNormEps', 0, 1, false),
    pooling: oneOf(v, 'pooling', POOLINGS),
    padTokenId: int(v, 'padTokenId', 0),
    bosTokenId: int(v, 'bosTokenId', 0),
    eosTokenId: int(v, 'eosTokenId', 0),
  };
  if (config.layerNormEps === 0) throw new ConfigError('layerNormEps', 'must be > 0, got 0');
  if (config.dModel % config.numHeads !== 0) {
    throw new ConfigError('dModel', `${config.dModel} is not divisible by numHeads=${config.numHeads}; choose dModel as a multiple of numHeads`);
  }
  if (config.positional === 'rope' && (config.dModel / config.numHeads) % 2 !== 0) {
    throw new ConfigError('positional', `'rope' needs an even head size, got dModel/numHeads = ${config.dModel / config.numHeads}`);
  }
  if (config.positional === 'sinusoidal' && config.dModel % 2 !== 0) {
    throw new ConfigError('dModel', `${config.dModel} must be even for 'sinusoidal' positions`);
  }
  const needs = {
    'encoder-classifier': { enc: true, dec: false },
    'decoder-lm': { enc: false, dec: true },
    'encoder-decoder': { enc: true, dec: true },
    'rnn-seq2seq': { enc: true, dec: true },
    'vit-classifier': { enc: true, dec: false },
  }[preset];
  if (needs.enc && config.numEncoderLayers < 1) throw new ConfigError('numEncoderLayers', `preset '${preset}' needs at least 1, got ${config.numEncoderLayers}`);
  if (!needs.enc && config.numEncoderLayers !== 0) throw new ConfigError('numEncoderLayers', `preset '${preset}' has no encoder; must be 0, got ${config.numEncoderLayers}`);
  if (needs.dec && config.numDecoderLayers < 1) throw new ConfigError('numDecoderLayers', `preset '${preset}' needs at least 1, got ${config.numDecoderLayers}`);
  if (!needs.dec && config.numDecoderLayers !== 0) throw new ConfigError('numDecoderLayers', `preset '${preset}' has no decoder; must be 0, got ${config.numDecoderLayers}`);
  const classifier = preset === 'encoder-classifier' || preset === 'vit-classifier';
  if (classifier && config.numClasses < 2) throw new ConfigError('numClasses', `preset '${preset}' needs at least 2 classes, got ${config.numClasses}`);
  if (!classifier && config.numClasses !== 0) throw new ConfigError('numClasses', `only 'encoder-classifier' and 'vit-classifier' have classes; must be 0 for '${preset}', got ${config.numClasses}`);
  for (const field of ['padTokenId', 'bosTokenId', 'eosTokenId'] as const) {
    if (config[field] >= config.vocabSize) throw new ConfigError(field, `${config[field]} is outside the vocabulary [0, ${config.vocabSize})`);
  }
  if (config.localWindow !== null && config.localWindow >= config.maxSeqLen) {
    throw new ConfigError('localWindow', `${config.localWindow} covers the whole sequence (maxSeqLen=${config.maxSeqLen}); use null for global attention`);
  }
  if (preset !== 'rnn-seq2seq') {
    for (const field of RNN_FIELDS) {
      if (v[field] !== undefined) throw new ConfigError(field, `only preset 'rnn-seq2seq' has this field; remove it for '${preset}'`);
    }
  }
  if (preset !== 'vit-classifier') {
    for (const field of VIT_FIELDS) {
      if (v[field] !== undefined) throw new ConfigError(field, `only preset 'vit-classifier' has this field; remove it for '${preset}'`);
    }
  }
  if (preset === 'rnn-seq2seq') return validateRnnFields(config, v);
  if (preset === 'vit-classifier') return validateVitFields(config, v);
  return config;
}

function validateRnnFields(config: ModelConfig, v: Record<keyof ModelConfig, unknown>): ModelConfig {
  for (const field of RNN_FIELDS) {
    if (v[field] === undefined) throw new ConfigError(field, `missing (preset 'rnn-seq2seq' needs ${RNN_FIELDS.join(', ')})`);
  }
  const rnn: ModelConfig = {
    ...config,
    rnnCell: oneOf(v, 'rnnCell', RNN_CELLS),
    rnnAttention: oneOf(v, 'rnnAttention', RNN_ATTENTIONS),
    rnnBidirectional: bool(v, 'rnnBidirectional'),
  };
  if (rnn.rnnBidirectional && rnn.dModel % 2 !== 0) {
    throw new ConfigError('dModel', `${rnn.dModel} must be even for a bidirectional encoder (dModel/2 units per direction)`);
  }
  if (rnn.rnnAttention === 'local-p' && rnn.localWindow === null) {
    throw new ConfigError('localWindow', `rnnAttention 'local-p' needs the window half-width D (an integer >= 1, e.g. 4; σ = D/2), got null`);
  }
  if (rnn.rnnAttention !== 'local-p' && rnn.localWindow !== null) {
    throw new ConfigError('localWindow', `${rnn.localWindow} is only used by rnnAttention 'local-p' (got '${rnn.rnnAttention}'); use null`);
  }
  return rnn;
}

function validateVitFields(config: ModelConfig, v: Record<keyof ModelConfig, unknown>): ModelConfig {
  for (const field of VIT_REQUIRED) {
    if (v[field] === undefined) throw new ConfigError(field, `missing (preset 'vit-classifier' needs ${VIT_REQUIRED.join(', ')})`);
  }
  const vit: ModelConfig = {
    ...config,
    imageSize: int(v, 'imageSize', 1),
    patchSize: int(v, 'patchSize', 1),
    numChannels: int(v, 'numChannels', 1),
    pixelScale: v.pixelScale === undefined ? 1 : positive(v, 'pixelScale'),
  };
  if (vit.imageSize! % vit.patchSize! !== 0) {
    throw new ConfigError('patchSize', `${vit.patchSize} does not divide imageSize=${vit.imageSize}; choose a divisor of imageSize`);
  }
  const tokens = (vit.imageSize! / vit.patchSize!) ** 2 + 1;
  if (vit.maxSeqLen < tokens) throw new ConfigError('maxSeqLen', `${vit.maxSeqLen} is too small for ${tokens - 1} patches + CLS; use at least ${tokens}`);
  if (vit.positional !== 'learned') throw new ConfigError('positional', `preset 'vit-classifier' uses learned positions; got '${vit.positional}'`);
  if (vit.pooling !== 'cls') throw new ConfigError('pooling', `preset 'vit-classifier' classifies from the CLS token; got '${vit.pooling}'`);
  if (vit.localWindow !== null) throw new ConfigError('localWindow', `preset 'vit-classifier' attends globally; use null, got ${vit.localWindow}`);
  return vit;
}

/** Number of patch tokens of a vit-classifier config ((imageSize / patchSize)²), 0 for other presets. */
export function numPatches(config: Pick<ModelConfig, 'imageSize' | 'patchSize'>): number {
  return config.imageSize && config.patchSize ? (config.imageSize / config.patchSize) ** 2 : 0;
}

/** Size of one attention head. */
export function headDim(config: Pick<ModelConfig, 'dModel' | 'numHeads'>): number {
  return config.dModel / config.numHeads;
}

function checkPreset(value: unknown): Preset {
  if (typeof value !== 'string' || !(PRESETS as readonly string[]).includes(value)) {
    throw new ConfigError('preset', `${describe(value)} is not a preset; allowed: ${PRESETS.join(', ')}`);
  }
  return value as Preset;
}

function int(v: Record<string, unknown>, field: string, min: number): number {
  const x = v[field];
  if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < min) {
    throw new ConfigError(field, `${describe(x)} is not allowed; expected an integer >= ${min}`);
  }
  return x;
}

function num(v: Record<string, unknown>, field: string, min: number, max: number, maxInclusive: boolean): number {
  const x = v[field];
  if (typeof x !== 'number' || !Number.isFinite(x) || x < min || (maxInclusive ? x > max : x >= max)) {
    throw new ConfigError(field, `${describe(x)} is not allowed; expected a number in [${min}, ${max}${maxInclusive ? ']' : ')'}`);
  }
  return x;
}

function positive(v: Record<string, unknown>, field: string): number {
  const x = v[field];
  if (typeof x !== 'number' || !Number.isFinite(x) || x <= 0) throw new ConfigError(field, `${describe(x)} is not allowed; expected a finite number > 0`);
  return x;
}

function bool(v: Record<string, unknown>, field: string): boolean {
  const x = v[field];
  if (typeof x !== 'boolean') throw new ConfigError(field, `${describe(x)} is not allowed; expected true or false`);
  return x;
}

function oneOf<T extends string>(v: Record<string, unknown>, field: string, allowed: readonly T[]): T {
  const x = v[field];
  if (typeof x !== 'string' || !(allowed as readonly string[]).includes(x)) {
    throw new ConfigError(field, `${describe(x)} is not allowed; expected one of ${allowed.join(', ')}`);
  }
  return x as T;
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function dropUndefined<T extends object>(x: T): T {
  return Object.fromEntries(Object.entries(x).filter(([, v]) => v !== undefined)) as T;
}

export function describe(x: unknown): string {
  if (typeof x === 'string') return JSON.stringify(x);
  if (x === undefined) return 'undefined';
  if (Array.isArray(x)) return 'an array';
  if (typeof x === 'object' && x !== null) return 'an object';
  return String(x);
}

/** The candidate with the smallest edit distance (case-insensitive), if it is close enough to be a likely typo. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      bestDistance = d;
      best = candidate;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}
