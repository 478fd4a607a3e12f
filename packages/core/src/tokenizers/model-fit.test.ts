// Whether a tokenizer fits a model config: a vocabulary larger than the tokenizer's (as
// Hugging Face configs have, e.g. rows padded to a multiple of 64) fits; a tokenizer with ids
// the model has no row for, or special tokens at other ids, is one line.

import { describe, expect, it } from 'vitest';
import { CharTokenizer } from './char.js';
import { checkTokenizerFits } from './model-fit.js';

describe('checkTokenizerFits', () => {
  const tokenizer = CharTokenizer.fromAlphabet('abc');
  const { pad, bos, eos } = tokenizer.specialTokenIds;
  const config = (vocabSize: number) => ({ vocabSize, padTokenId: pad, bosTokenId: bos, eosTokenId: eos });

  it('takes a model vocabulary as large as the tokenizer or larger', () => {
    expect(() => checkTokenizerFits(tokenizer, config(tokenizer.vocabSize), 't/tokenizer.json')).not.toThrow();
    expect(() => checkTokenizerFits(tokenizer, config(tokenizer.vocabSize + 57), 't/tokenizer.json')).not.toThrow();
  });

  it('refuses a tokenizer with more tokens than the model, and special tokens at other ids', () => {
    expect(() => checkTokenizerFits(tokenizer, config(tokenizer.vocabSize - 1), 't/tokenizer.json')).toThrow(
      `t/tokenizer.json: ${tokenizer.vocabSize} tokens but config.json has vocabSize ${tokenizer.vocabSize - 1} (files from different exports?)`,
    );
    expect(() => checkTokenizerFits(tokenizer, { ...config(20), eosTokenId: 7 }, 't/tokenizer.json')).toThrow('its eos token');
  });
});
