// One `translate` for every backend: a backend turns its encoder–decoder (a tfjs model, or the
// two ONNX sessions of either encoder–decoder kind) into a Translator — the model's config and a
// step function over an encoded source — and core's decoding loop does the rest.

import { decodeWith, type GreedyOptions, type StepFunction, type StepTensor, type TranslateOptions } from './decoding.js';
import type { TokenModelConfig } from './models/registry.js';

/** An encoded source as the decoding loop reads it: a step function over it, and what frees it. */
export interface EncodedForDecoding {
  step: StepFunction;
  /** Frees what the encoding holds (tfjs tensors); absent when nothing needs freeing. */
  release?(): void;
  /** The encoder's attention outputs by name (`encoder_attentions.l`, [B, H, S, S]) when the translator was asked for them. */
  attentions?: Readonly<Record<string, StepTensor>>;
}

/** An encoder–decoder, whatever runs it: its config, and how it encodes a batch of sources `S`. */
export interface Translator<S extends { batchSize: number }> {
  readonly config: TokenModelConfig;
  /** Encodes `source` once; the step function then decodes every row over its source row. */
  start(source: S): Promise<EncodedForDecoding>;
}

/** The decoding loop's options for translating `batchSize` rows with an encoder–decoder of `config`. */
export function translateDecodeOptions(config: TokenModelConfig, batchSize: number, options: TranslateOptions): GreedyOptions {
  return {
    batchSize,
    vocabSize: config.vocabSize,
    bosTokenId: config.bosTokenId,
    eosTokenId: config.eosTokenId,
    maxNewTokens: Math.min(options.maxNewTokens, config.maxSeqLen - 1),
    ...(options.onToken ? { onToken: options.onToken } : {}),
  };
}

/**
 * Encodes `source` and decodes it from bos until eos (or min(maxNewTokens, maxSeqLen − 1)
 * tokens) with `options.strategy` (default greedy); returns each row's new ids (no bos, no eos).
 */
export async function translateWith<S extends { batchSize: number }>(translator: Translator<S>, source: S, options: TranslateOptions): Promise<number[][]> {
  const { step, release } = await translator.start(source);
  try {
    return await decodeWith(step, translateDecodeOptions(translator.config, source.batchSize, options), options.strategy);
  } finally {
    release?.();
  }
}
