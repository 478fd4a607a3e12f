// The tokenizer `attend train` builds for a new run from its training texts (--tokenizer,
// --vocab-size): characters (the default), words, or byte-level BPE merges learned on the texts.
// It is saved as tokenizer.json with the checkpoint, which export, infer and serve then read.

import { BpeTokenizer, CharTokenizer, WordTokenizer, type Tokenizer } from '@attend/core';
import { CliError } from './errors.js';

export const TRAIN_TOKENIZERS = ['char', 'word', 'bpe'] as const;
export type TrainTokenizer = (typeof TRAIN_TOKENIZERS)[number];

/** --vocab-size of --tokenizer bpe when none is given. */
export const DEFAULT_BPE_VOCAB = 1000;

/** The smallest --vocab-size of each kind: 4 special tokens and one word, or the 256 bytes. */
const MIN_VOCAB: Record<Exclude<TrainTokenizer, 'char'>, number> = { word: 5, bpe: 260 };

/** Checks --vocab-size against --tokenizer before any data is read (usage errors, exit 2). */
export function checkTokenizerFlags(kind: TrainTokenizer | undefined, vocabSize: number | undefined): void {
  if (vocabSize === undefined) return;
  if (kind === undefined || kind === 'char') {
    throw new CliError(`--vocab-size: applies to --tokenizer word or bpe (a char tokenizer keeps every character of the data)`, 2);
  }
  if (vocabSize < MIN_VOCAB[kind]) {
    throw new CliError(`--vocab-size: ${vocabSize} is too small for --tokenizer ${kind}; at least ${MIN_VOCAB[kind]} (${kind === 'bpe' ? '4 special tokens + 256 bytes' : '4 special tokens + 1 word'})`, 2);
  }
}

/** A `kind` tokenizer of `texts` (flags checked by checkTokenizerFlags). */
export function trainTokenizer(texts: readonly string[], kind: TrainTokenizer = 'char', vocabSize?: number): Tokenizer {
  if (kind === 'char') return CharTokenizer.fromCorpus(texts);
  if (kind === 'word') return WordTokenizer.fromCorpus(texts, vocabSize === undefined ? {} : { maxVocab: vocabSize });
  return BpeTokenizer.train(texts, { vocabSize: vocabSize ?? DEFAULT_BPE_VOCAB });
}
