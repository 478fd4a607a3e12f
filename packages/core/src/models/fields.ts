// The field groups that model kinds share, and the checks of single fields. A kind's config
// is made of groups (tokens, a Transformer stack, embedding options) plus fields of its own;
// every check names the field and what is allowed, so one ConfigError line tells the fix.

import { ConfigError } from '../errors.js';

export const NORM_PLACEMENTS = ['pre', 'post'] as const;
/** gelu: exact, 0.5·x·(1 + erf(x/√2)); gelu_new: GPT-2's tanh approximation; swish: x·σ(x) (SiLU; Marian). */
export const ACTIVATIONS = ['relu', 'gelu', 'gelu_new', 'swish'] as const;
/** sinusoidal: sin and cos interleaved (Vaswani et al.); sinusoidal_split: the sines in the first half, the cosines in the second (Marian). */
export const POSITIONAL_ENCODINGS = ['sinusoidal', 'sinusoidal_split', 'learned', 'rope', 'alibi'] as const;
/** Score functions: Vaswani (scaled_dot), Luong (dot, general), Bahdanau (additive), cosine (Graves). */
export const SCORE_FUNCTIONS = ['scaled_dot', 'dot', 'general', 'additive', 'cosine'] as const;
export const POOLINGS = ['mean', 'cls'] as const;

export type NormPlacement = (typeof NORM_PLACEMENTS)[number];
export type Activation = (typeof ACTIVATIONS)[number];
export type PositionalEncoding = (typeof POSITIONAL_ENCODINGS)[number];
export type ScoreFunction = (typeof SCORE_FUNCTIONS)[number];
export type Pooling = (typeof POOLINGS)[number];

/** Fields every kind has. */
export interface BaseFields {
  dModel: number;
  /** Longest sequence the model accepts (size of the position table; for images, patches + CLS). */
  maxSeqLen: number;
  /** Dropout rate on embeddings, attention weights and residual branches during training. */
  dropout: number;
}

/** Fields of the kinds that read and write tokens. */
export interface TokenFields {
  /** Token vocabulary size; one vocabulary is shared by encoder and decoder. */
  vocabSize: number;
  padTokenId: number;
  bosTokenId: number;
  eosTokenId: number;
}

/** A Transformer layer stack (Vaswani et al., 2017): attention heads, feed-forward, norms. */
export interface StackFields {
  numHeads: number;
  /** Hidden width of the position-wise feed-forward network. */
  dFf: number;
  /** Layer norm before each sublayer (GPT-2) or after the residual add (Vaswani et al.). */
  norm: NormPlacement;
  activation: Activation;
  positional: PositionalEncoding;
  attention: ScoreFunction;
  /** Luong-style local attention: self-attention sees only keys with |i - j| <= localWindow. null = global. */
  localWindow: number | null;
  layerNormEps: number;
}

/** Token embeddings of the Transformer text kinds. */
export interface EmbeddingFields {
  /**
   * Token embeddings times √dModel (Vaswani et al. §3.4; Marian/BART's `scale_embedding`), with
   * tables initialised at std 1/√dModel. false = GPT-2 style: no factor, tables at std 0.02.
   */
  scaleEmbedding: boolean;
  /** LayerNorm over the summed token and position embeddings, before the first layer (BERT). */
  embeddingNorm: boolean;
}

/** Kinds with a vocabulary output layer. */
export interface TiedFields {
  /** Output projection shares the token embedding matrix (Press & Wolf, 2017). */
  tieEmbeddings: boolean;
}

/** What a Transformer layer stack reads (the text kinds' configs, or vitStack(config)). */
export type StackConfig = BaseFields & StackFields & Partial<EmbeddingFields>;

/** The longest sequence a config may declare (maxSeqLen). */
export const MAX_SEQ_LEN = 65_536;

export const BASE_FIELDS = ['dModel', 'maxSeqLen', 'dropout'] as const;
export const TOKEN_FIELDS = ['vocabSize', 'padTokenId', 'bosTokenId', 'eosTokenId'] as const;
export const STACK_FIELDS = ['numHeads', 'dFf', 'norm', 'activation', 'positional', 'attention', 'localWindow', 'layerNormEps'] as const;
export const EMBEDDING_FIELDS = ['scaleEmbedding', 'embeddingNorm'] as const;
/** Values of the embedding fields in configs written before a field existed. */
export const EMBEDDING_LATER_FIELDS = { scaleEmbedding: true, embeddingNorm: false } as const;

/** A raw config record whose keys have been checked against the kind's fields. */
export type Raw = Record<string, unknown>;

export function baseFields(v: Raw): BaseFields {
  const maxSeqLen = int(v, 'maxSeqLen', 1);
  // Positional tables (sinusoidal, RoPE) are maxSeqLen × dModel, built with the model: capped so that a config cannot claim gigabytes.
  if (maxSeqLen > MAX_SEQ_LEN) throw new ConfigError('maxSeqLen', `${maxSeqLen} is over the limit of ${MAX_SEQ_LEN}`);
  return { dModel: int(v, 'dModel', 1), maxSeqLen, dropout: num(v, 'dropout', 0, 1) };
}

export function tokenFields(v: Raw): TokenFields {
  const t: TokenFields = {
    vocabSize: int(v, 'vocabSize', 1),
    padTokenId: int(v, 'padTokenId', 0),
    bosTokenId: int(v, 'bosTokenId', 0),
    eosTokenId: int(v, 'eosTokenId', 0),
  };
  for (const field of ['padTokenId', 'bosTokenId', 'eosTokenId'] as const) {
    if (t[field] >= t.vocabSize) throw new ConfigError(field, `${t[field]} is outside the vocabulary [0, ${t.vocabSize})`);
  }
  return t;
}

/** The stack fields of `v`, checked together with the base fields they depend on. */
export function stackFields(v: Raw, base: BaseFields): StackFields {
  const s: StackFields = {
    numHeads: int(v, 'numHeads', 1),
    dFf: int(v, 'dFf', 1),
    norm: oneOf(v, 'norm', NORM_PLACEMENTS),
    activation: oneOf(v, 'activation', ACTIVATIONS),
    positional: oneOf(v, 'positional', POSITIONAL_ENCODINGS),
    attention: oneOf(v, 'attention', SCORE_FUNCTIONS),
    localWindow: v.localWindow === null ? null : int(v, 'localWindow', 1),
    layerNormEps: num(v, 'layerNormEps', 0, 1),
  };
  if (s.layerNormEps === 0) throw new ConfigError('layerNormEps', 'must be > 0, got 0');
  if (base.dModel % s.numHeads !== 0) {
    throw new ConfigError('dModel', `${base.dModel} is not divisible by numHeads=${s.numHeads}; choose dModel as a multiple of numHeads`);
  }
  if (s.positional === 'rope' && (base.dModel / s.numHeads) % 2 !== 0) {
    throw new ConfigError('positional', `'rope' needs an even head size, got dModel/numHeads = ${base.dModel / s.numHeads}`);
  }
  if ((s.positional === 'sinusoidal' || s.positional === 'sinusoidal_split') && base.dModel % 2 !== 0) {
    throw new ConfigError('dModel', `${base.dModel} must be even for '${s.positional}' positions`);
  }
  if (s.localWindow !== null && s.localWindow >= base.maxSeqLen) {
    throw new ConfigError('localWindow', `${s.localWindow} covers the whole sequence (maxSeqLen=${base.maxSeqLen}); use null for global attention`);
  }
  return s;
}

/** The embedding fields of `v`. */
export function embeddingFields(v: Raw): EmbeddingFields {
  return { scaleEmbedding: bool(v, 'scaleEmbedding'), embeddingNorm: bool(v, 'embeddingNorm') };
}

/** Layers of one stack: at least 1. */
export function layers(v: Raw, field: 'numEncoderLayers' | 'numDecoderLayers'): number {
  const x = v[field];
  if (typeof x === 'number' && Number.isSafeInteger(x) && x < 1) throw new ConfigError(field, `needs at least 1, got ${x}`);
  return int(v, field, 1);
}

/** Classes of a classifier head: at least 2. */
export function classes(v: Raw): number {
  const x = v.numClasses;
  if (typeof x === 'number' && Number.isSafeInteger(x) && x < 2) throw new ConfigError('numClasses', `a classifier needs at least 2 classes, got ${x}`);
  return int(v, 'numClasses', 2);
}

export function int(v: Raw, field: string, min: number): number {
  const x = v[field];
  if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < min) {
    throw new ConfigError(field, `${describe(x)} is not allowed; expected an integer >= ${min}`);
  }
  return x;
}

/** A finite number in [min, max). */
export function num(v: Raw, field: string, min: number, max: number): number {
  const x = v[field];
  if (typeof x !== 'number' || !Number.isFinite(x) || x < min || x >= max) {
    throw new ConfigError(field, `${describe(x)} is not allowed; expected a number in [${min}, ${max})`);
  }
  return x;
}

export function positive(v: Raw, field: string): number {
  const x = v[field];
  if (typeof x !== 'number' || !Number.isFinite(x) || x <= 0) throw new ConfigError(field, `${describe(x)} is not allowed; expected a finite number > 0`);
  return x;
}

export function bool(v: Raw, field: string): boolean {
  const x = v[field];
  if (typeof x !== 'boolean') throw new ConfigError(field, `${describe(x)} is not allowed; expected true or false`);
  return x;
}

export function oneOf<T extends string>(v: Raw, field: string, allowed: readonly T[]): T {
  const x = v[field];
  if (typeof x !== 'string' || !(allowed as readonly string[]).includes(x)) {
    throw new ConfigError(field, `${describe(x)} is not allowed; expected one of ${allowed.join(', ')}`);
  }
  return x as T;
}

export function describe(x: unknown): string {
  if (typeof x === 'string') return JSON.stringify(x);
  if (x === undefined) return 'undefined';
  if (Array.isArray(x)) return 'an array';
  if (typeof x === 'object' && x !== null) return 'an object';
  return String(x);
}
