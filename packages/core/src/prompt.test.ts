import { describe, expect, it } from 'vitest';
import { encoderInputIds, lmPromptIds, pairRefusal, takesPairs, unknownText, unknownTextWarning } from './prompt.js';
import { createModelConfig } from './config.js';
import { bertJSON } from './test-utils/hf-tokenizers.js';
import { tokenizerFromJSON } from './tokenizers/hf-json.js';
import { CharTokenizer } from './tokenizers/char.js';
import { WordTokenizer } from './tokenizers/word.js';

const chars = CharTokenizer.fromCorpus(['july the fourth, 1776']);

describe('encoderInputIds', () => {
  it("adds the tokenizer file's template (BERT's [CLS] … [SEP]); attend's own tokenizers have none", () => {
    const bert = tokenizerFromJSON(bertJSON(), 'tokenizer.json');
    const ids = encoderInputIds(bert, 'hello world');
    expect(bert.idsToTokens([ids[0]!, ids.at(-1)!])).toEqual(['[CLS]', '[SEP]']);
    expect(ids.slice(1, -1)).toEqual(bert.encode('hello world'));
    expect(encoderInputIds(chars, 'july')).toEqual(chars.encode('july'));
  });
});

describe('lmPromptIds', () => {
  it('is the prompt as training windows see it: no bos; an empty prompt starts from bos', () => {
    const { bos } = chars.specialTokenIds;
    expect(lmPromptIds(chars, bos, 'july')).toEqual(chars.encode('july'));
    expect(lmPromptIds(chars, bos, 'july')[0]).not.toBe(bos);
    expect(lmPromptIds(chars, bos, '')).toEqual([bos]);
  });
});

describe('unknownText', () => {
  it('counts the characters a char tokenizer reads as <unk> and names them once each', () => {
    expect(unknownText(chars, 'july 4th')).toEqual({ count: 1, pieces: ['4'] });
    expect(unknownText(chars, 'JULY 4TH')).toEqual({ count: 7, pieces: ['J', 'U', 'L', 'Y', '4', 'T', 'H'] });
    expect(unknownText(chars, 'july')).toEqual({ count: 0, pieces: [] });
  });

  it('names words for a word tokenizer', () => {
    const words = WordTokenizer.fromCorpus(['the cat sat']);
    expect(unknownText(words, 'the dog sat on')).toEqual({ count: 2, pieces: ['dog', 'on'] });
  });

  it('warns in one line, naming a few pieces', () => {
    expect(unknownTextWarning({ count: 0, pieces: [] }, 'input 1')).toBeUndefined();
    expect(unknownTextWarning(unknownText(chars, 'JULY 4TH'), 'prompt', 3)).toBe('prompt: 7 tokens unknown to the tokenizer, read as <unk> ("J", "U", "L", and 4 more)');
    expect(unknownTextWarning({ count: 1, pieces: ['4'] }, 'input 2')).toBe('input 2: 1 token unknown to the tokenizer, read as <unk> ("4")');
  });
});

describe('sentence pairs', () => {
  const classifier = (typeVocabSize: number) => createModelConfig({ preset: 'encoder-classifier', vocabSize: 8, numClasses: 2, typeVocabSize });

  it('are read by a classifier with a token type for each segment (typeVocabSize ≥ 2) only', () => {
    expect([0, 1, 2, 3].map((n) => takesPairs(classifier(n)))).toEqual([false, false, true, true]);
    expect(takesPairs(createModelConfig({ preset: 'decoder-lm', vocabSize: 8 }))).toBe(false);
    expect(pairRefusal(classifier(2), 'pair')).toBeUndefined();
    expect(pairRefusal(classifier(1), '--pair')).toBe('--pair: sentence pairs need a model with token types for both segments (typeVocabSize 2 or more, as an imported BERT has); this one reads one text');
  });
});
