// Save and load tokenizers as Hugging Face tokenizers `tokenizer.json` (format version "1.0"),
// the file transformers.js and the Python `tokenizers` library read. Loading dispatches on
// model.type through a registry (MODEL_LOADERS):
//   BPE       -> byte-level BPE (GPT-2's layout, any special tokens; attend's bpe writes it too);
//   WordLevel -> attend's char (Split isolating each code point, Fuse decoder) or word tokenizer
//                (the word Split pre_tokenizer and normalizer, no decoder);
//   WordPiece -> BERT's files (wordpiece.ts);  Unigram -> SentencePiece conversions, e.g. Marian (unigram.ts).
// Loading accepts only what attend can reproduce (see each loader), and names the file and field
// of anything else in one line.
// Hugging Face libraries give the same ids with one difference: they match special-token
// strings typed in the text ("<s>" -> bos), where attend encodes them as ordinary text.

import { TokenizerError } from '../errors.js';
import { BpeTokenizer } from './bpe.js';
import { CHAR_PRE_TOKENIZER, CharTokenizer } from './char.js';
import { type Fail, isObject, type JsonObject, jsonEqual, readAddedTokens, readVocab, show, specialTokensFrom } from './hf-fields.js';
import { DEFAULT_SPECIAL_TOKENS, type Tokenizer } from './tokenizer.js';
import { UnigramTokenizer } from './unigram.js';
import { WORD_PRE_TOKENIZER, WordTokenizer, wordNormalizerJSON } from './word.js';
import { WordPieceTokenizer } from './wordpiece.js';

export interface HFAddedToken {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

export type HFNormalizer =
  | { type: 'NFC' | 'NFD' | 'NFKC' | 'NFKD' }
  | { type: 'Lowercase' }
  | { type: 'Replace'; pattern: { String: string } | { Regex: string }; content: string }
  | { type: 'Sequence'; normalizers: HFNormalizer[] }
  | { type: 'BertNormalizer'; clean_text: boolean; handle_chinese_chars: boolean; strip_accents: boolean | null; lowercase: boolean }
  | { type: 'Precompiled'; precompiled_charsmap: string | null };

/** Metaspace fields: newer files write prepend_scheme and split, older ones add_prefix_space. */
export interface HFMetaspace {
  type: 'Metaspace';
  replacement: string;
  add_prefix_space?: boolean;
  prepend_scheme?: 'always' | 'first' | 'never';
  split?: boolean;
}

export type HFPreTokenizer =
  | { type: 'ByteLevel'; add_prefix_space: boolean; trim_offsets: boolean; use_regex: boolean }
  | {
      type: 'Split';
      pattern: { Regex: string } | { String: string };
      behavior: 'Removed' | 'Isolated' | 'MergedWithPrevious' | 'MergedWithNext' | 'Contiguous';
      invert: boolean;
    }
  | { type: 'BertPreTokenizer' }
  | HFMetaspace;

export type HFDecoder =
  | { type: 'ByteLevel'; add_prefix_space: boolean; trim_offsets: boolean; use_regex: boolean }
  | { type: 'Fuse' }
  | { type: 'WordPiece'; prefix: string; cleanup: boolean }
  | HFMetaspace;

type HFTemplateItem = { SpecialToken: { id: string; type_id: number } } | { Sequence: { id: 'A' | 'B'; type_id: number } };

export type HFPostProcessor =
  | { type: 'ByteLevel'; add_prefix_space: boolean; trim_offsets: boolean; use_regex: boolean }
  | {
      type: 'TemplateProcessing';
      single: HFTemplateItem[];
      pair: HFTemplateItem[];
      special_tokens: Record<string, { id: string; ids: number[]; tokens: string[] }>;
    }
  | { type: 'BertProcessing'; sep: [string, number]; cls: [string, number] };

export interface HFBPEModel {
  type: 'BPE';
  dropout: number | null;
  unk_token: string | null;
  continuing_subword_prefix: string | null;
  end_of_word_suffix: string | null;
  fuse_unk: boolean;
  byte_fallback: boolean;
  vocab: Record<string, number>;
  /** "left right" strings (newer files may hold [left, right] pairs; both load). */
  merges: string[];
}

export interface HFWordLevelModel {
  type: 'WordLevel';
  vocab: Record<string, number>;
  unk_token: string;
}

export interface HFWordPieceModel {
  type: 'WordPiece';
  unk_token: string;
  continuing_subword_prefix: string;
  max_input_chars_per_word: number;
  vocab: Record<string, number>;
}

export interface HFUnigramModel {
  type: 'Unigram';
  unk_id: number;
  /** [piece, score] by id. */
  vocab: [string, number][];
  byte_fallback?: boolean;
}

export interface HFTokenizerJSON {
  version: '1.0';
  truncation: null;
  padding: null;
  added_tokens: HFAddedToken[];
  normalizer: HFNormalizer | null;
  pre_tokenizer: HFPreTokenizer | null;
  post_processor: HFPostProcessor | null;
  decoder: HFDecoder | null;
  model: HFBPEModel | HFWordLevelModel | HFWordPieceModel | HFUnigramModel;
}

/** Builds the tokenizer of a file whose model.type it is registered under; `model` is json.model. */
type ModelLoader = (json: JsonObject, model: JsonObject, fail: Fail, source: string) => Tokenizer;

/** The model types attend reads, by tokenizer.json model.type. */
const MODEL_LOADERS: Readonly<Record<string, ModelLoader>> = {
  BPE: loadBpe,
  WordLevel: loadWordLevel,
  WordPiece: WordPieceTokenizer.fromJSON,
  Unigram: UnigramTokenizer.fromJSON,
};

/** The tokenizer a `tokenizer.json` object describes; `source` names it in error messages. */
export function tokenizerFromJSON(json: unknown, source = 'tokenizer.json'): Tokenizer {
  const fail: Fail = (problem) => {
    throw new TokenizerError(`${source}: ${problem}`);
  };
  if (!isObject(json)) return fail(`expected a JSON object, got ${show(json)}`);
  if (json.version !== '1.0') fail(`version must be "1.0", got ${show(json.version)}`);
  for (const field of ['truncation', 'padding'] as const) {
    if (json[field] !== undefined && json[field] !== null)
      fail(`${field} is not supported (expected null), got ${show(json[field])}`);
  }

  const model = json.model;
  if (model === undefined || model === null) return fail('missing model');
  if (!isObject(model)) return fail(`model must be an object, got ${show(model)}`);
  const type = model.type;
  if (typeof type !== 'string' || !Object.hasOwn(MODEL_LOADERS, type)) {
    return fail(`unknown model type ${show(type)} (supported: ${Object.keys(MODEL_LOADERS).map((t) => `"${t}"`).join(', ')})`);
  }
  return MODEL_LOADERS[type]!(json, model, fail, source);
}

/** Byte-level BPE as GPT-2's file and attend's BpeTokenizer write it. */
function loadBpe(json: JsonObject, model: JsonObject, fail: Fail, source: string): Tokenizer {
  const tokens = readVocab(model.vocab, fail);
  const specials = specialTokensFrom(readAddedTokens(json.added_tokens, tokens, fail), fail);
  if (json.normalizer !== undefined && json.normalizer !== null)
    fail(`normalizer must be null for a BPE model, got ${show(json.normalizer)}`);
  const preTokenizer = json.pre_tokenizer;
  if (!isObject(preTokenizer) || preTokenizer.type !== 'ByteLevel') {
    fail(`pre_tokenizer must be ByteLevel for a BPE model, got ${show(preTokenizer)}`);
  } else if (preTokenizer.add_prefix_space !== false || preTokenizer.use_regex === false) {
    fail(`pre_tokenizer ByteLevel must have add_prefix_space false and use_regex true, got ${show(preTokenizer)}`);
  }
  if (!isObject(json.decoder) || json.decoder.type !== 'ByteLevel')
    fail(`decoder must be ByteLevel for a BPE model, got ${show(json.decoder)}`);
  const post = json.post_processor;
  if (post !== undefined && post !== null && !(isObject(post) && post.type === 'ByteLevel')) {
    fail(`post_processor must be null or ByteLevel, got ${show(post)}`);
  }
  if (model.dropout !== undefined && model.dropout !== null)
    fail(`model.dropout is not supported (expected null), got ${show(model.dropout)}`);
  for (const field of ['continuing_subword_prefix', 'end_of_word_suffix'] as const) {
    const value = model[field];
    if (value !== undefined && value !== null && value !== '')
      fail(`model.${field} is not supported (expected null or ""), got ${show(value)}`);
  }
  if (model.byte_fallback === true) fail('model.byte_fallback is not supported (expected false)');
  return new BpeTokenizer(tokens, readMerges(model.merges, fail), source, specials);
}

/** attend's char and word tokenizers (WordLevel models with exactly attend's four special tokens). */
function loadWordLevel(json: JsonObject, model: JsonObject, fail: Fail, source: string): Tokenizer {
  const tokens = readVocab(model.vocab, fail);
  readAddedTokens(json.added_tokens, tokens, fail, Object.values(DEFAULT_SPECIAL_TOKENS));
  if (model.unk_token !== DEFAULT_SPECIAL_TOKENS.unk) {
    fail(`model.unk_token must be ${show(DEFAULT_SPECIAL_TOKENS.unk)}, got ${show(model.unk_token)}`);
  }
  if (json.post_processor !== undefined && json.post_processor !== null)
    fail(`post_processor must be null, got ${show(json.post_processor)}`);
  if (jsonEqual(json.pre_tokenizer, CHAR_PRE_TOKENIZER)) {
    if (json.normalizer !== undefined && json.normalizer !== null)
      fail(`normalizer must be null for a char tokenizer, got ${show(json.normalizer)}`);
    if (!jsonEqual(json.decoder, { type: 'Fuse' }))
      fail(`decoder must be Fuse for a char tokenizer, got ${show(json.decoder)}`);
    return new CharTokenizer(tokens, source);
  }
  if (jsonEqual(json.pre_tokenizer, WORD_PRE_TOKENIZER)) {
    const lowercase = jsonEqual(json.normalizer, wordNormalizerJSON(true));
    if (!lowercase && !jsonEqual(json.normalizer, wordNormalizerJSON(false))) {
      fail(`normalizer is not the word tokenizer's NFC/Replace/Lowercase sequence, got ${show(json.normalizer)}`);
    }
    if (json.decoder !== undefined && json.decoder !== null)
      fail(`decoder must be null for a word tokenizer, got ${show(json.decoder)}`);
    return new WordTokenizer(tokens, { lowercase }, source);
  }
  return fail(
    `pre_tokenizer ${show(json.pre_tokenizer)} is neither the char nor the word Split that attend writes for a WordLevel model`,
  );
}

/** model.merges as pairs; each is "left right" or ["left", "right"]. */
function readMerges(merges: unknown, fail: Fail): [string, string][] {
  if (!Array.isArray(merges)) return fail(`model.merges must be an array, got ${show(merges)}`);
  return merges.map((merge: unknown, i): [string, string] => {
    if (typeof merge === 'string') {
      const parts = merge.split(' ');
      if (parts.length === 2 && parts[0] && parts[1]) return [parts[0], parts[1]];
    } else if (Array.isArray(merge) && merge.length === 2) {
      const [left, right] = merge as unknown[];
      if (typeof left === 'string' && typeof right === 'string' && left && right) return [left, right];
    }
    return fail(`model.merges[${i}] must be "left right" or ["left", "right"], got ${show(merge)}`);
  });
}

/** Parses `tokenizer.json` text; `source` (a path, usually) names it in error messages. */
export function loadTokenizerJSON(text: string, source = 'tokenizer.json'): Tokenizer {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new TokenizerError(`${source}: not valid JSON (${(error instanceof Error ? error.message : String(error)).replace(/\s+/g, ' ')})`);
  }
  return tokenizerFromJSON(json, source);
}

/**
 * Reads a `tokenizer.json` file's bytes (UTF-8 JSON): the one tokenizer loader of checkpoint and
 * export folders. `source` (a path or URL) names the file in every error.
 */
export function tokenizerFromBytes(bytes: Uint8Array, source = 'tokenizer.json'): Tokenizer {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new TokenizerError(`${source}: not valid UTF-8 text`);
  }
  return loadTokenizerJSON(text, source);
}

/** `tokenizer.json` text for a tokenizer (2-space indented, as Hugging Face writes it). */
export function saveTokenizerJSON(tokenizer: Tokenizer): string {
  return JSON.stringify(tokenizer.toJSON(), null, 2);
}
