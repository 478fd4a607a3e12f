// How text enters a model, decided once for every front end (the CLI's generate and infer,
// `attend serve`, the playground): a decoder-lm's prompt becomes its token ids as they are,
// and the pieces of any input that the tokenizer cannot represent are counted so that each
// front end can warn about them.
//
// Why no bos before an LM prompt: the LM trains on windows at random offsets of one token
// stream (`sampleLmBatch`, as nanoGPT's `get_batch`), so no training window starts with bos;
// a prompt read as [bos, ...prompt] shows the model a token it never saw before text. Only an
// empty prompt starts from bos, since a model needs one token to predict the next.

import type { ModelConfig } from './models/registry.js';
import type { Tokenizer } from './tokenizers/tokenizer.js';
import { splitWords } from './tokenizers/word.js';

/** A decoder-lm's first tokens for `prompt`: its ids without bos (training windows have none); [bos] for an empty prompt. */
export function lmPromptIds(tokenizer: Tokenizer, bosTokenId: number, prompt: string): number[] {
  return prompt.length > 0 ? tokenizer.encode(prompt) : [bosTokenId];
}

/**
 * An encoder's input ids (a classifier's text, a translation's source): with the special tokens
 * of the tokenizer's own template when its file has one (BERT's `[CLS] text [SEP]`, as the
 * Hugging Face library and transformers.js add them), else the ids as they are (attend's own
 * tokenizers have no template).
 */
export function encoderInputIds(tokenizer: Tokenizer, text: string): number[] {
  const templated = tokenizer as TemplatedTokenizer;
  return templated.encodeWithSpecialTokens ? templated.encodeWithSpecialTokens(text).ids : tokenizer.encode(text);
}

/** A tokenizer whose file has a post-processor template (WordPiece, Unigram). */
type TemplatedTokenizer = Tokenizer & { encodeWithSpecialTokens?: (text: string, pair?: string) => { ids: number[]; typeIds: number[] } };

/**
 * A sentence pair's encoder input (a BERT classifier's `text` and `pair`): the ids with the
 * template's special tokens and each id's token type (`[CLS] A [SEP]` type 0, `B [SEP]` type 1),
 * as the Hugging Face library and transformers.js encode a text pair; without a template, A's ids
 * (type 0) then B's (type 1).
 */
export function encoderPairIds(tokenizer: Tokenizer, text: string, pair: string): { ids: number[]; typeIds: number[] } {
  const templated = tokenizer as TemplatedTokenizer;
  if (templated.encodeWithSpecialTokens) return templated.encodeWithSpecialTokens(text, pair);
  const [a, b] = [tokenizer.encode(text), tokenizer.encode(pair)];
  return { ids: [...a, ...b], typeIds: [...a.map(() => 0), ...b.map(() => 1)] };
}

/** Whether `config` reads sentence pairs: a classifier with a token type for each of segments A and B (typeVocabSize ≥ 2, as BERT's). */
export function takesPairs(config: ModelConfig): boolean {
  return 'typeVocabSize' in config && config.typeVocabSize >= 2;
}

/**
 * One line saying why `config` cannot read the sentence pair that `what` (the flag, request
 * field or file that gave it) holds; undefined when it can (`takesPairs`). Every front end refuses
 * pairs with it: `infer --pair`, `attend serve`'s `pair`.
 */
export function pairRefusal(config: ModelConfig, what: string): string | undefined {
  if (takesPairs(config)) return undefined;
  return `${what}: sentence pairs need a model with token types for both segments (typeVocabSize 2 or more, as an imported BERT has); this one reads one text`;
}

/** What of a text the tokenizer reads as <unk>. */
export interface UnknownText {
  /** <unk> tokens in the encoded text. */
  count: number;
  /** The distinct pieces read as <unk>, first seen first: characters (char tokenizer) or words (word tokenizer). */
  pieces: string[];
}

/** The <unk> tokens of `text` and the pieces that became them (none for byte-level BPE, which represents every string). */
export function unknownText(tokenizer: Tokenizer, text: string): UnknownText {
  const unk = tokenizer.specialTokenIds.unk;
  const count = tokenizer.encode(text).filter((id) => id === unk).length;
  if (count === 0) return { count, pieces: [] };
  const candidates = tokenizer.kind === 'word' ? splitWords(text, false) : [...text];
  const pieces = [...new Set(candidates)].filter((piece) => tokenizer.encode(piece).includes(unk));
  return { count, pieces };
}

/**
 * One line telling that `what` (e.g. "input 2") holds pieces the tokenizer does not know,
 * naming up to `shown` of them; undefined when there are none.
 */
export function unknownTextWarning(unknown: UnknownText, what: string, shown = 5): string | undefined {
  if (unknown.count === 0) return undefined;
  const names = unknown.pieces.slice(0, shown).map((p) => JSON.stringify(p)).join(', ');
  const more = unknown.pieces.length > shown ? `, and ${unknown.pieces.length - shown} more` : '';
  return `${what}: ${unknown.count} token${unknown.count === 1 ? '' : 's'} unknown to the tokenizer, read as <unk> (${names}${more})`;
}
