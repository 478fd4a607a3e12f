// The tiny copy task the trainer tests share: a character tokenizer over six letters, 16 pairs,
// and a one-layer encoder–decoder small enough that a training step takes milliseconds.

import { CharTokenizer, copyTask, createModelConfig, type EncoderDecoderConfig } from '@attend/core';

export const ALPHABET = 'abcdef';
export const tokenizer = CharTokenizer.fromAlphabet(ALPHABET);
export const pairs = copyTask({ count: 16, seed: 1, minLength: 3, maxLength: 5, alphabet: ALPHABET });

/** The tiny encoder–decoder for `tokenizer`, with `overrides`. */
export function tinyConfig(overrides: Partial<EncoderDecoderConfig> = {}): EncoderDecoderConfig {
  return createModelConfig({
    preset: 'encoder-decoder',
    vocabSize: tokenizer.vocabSize,
    dModel: 16,
    numHeads: 2,
    numEncoderLayers: 1,
    numDecoderLayers: 1,
    dFf: 32,
    maxSeqLen: 16,
    dropout: 0,
    ...overrides,
  });
}
