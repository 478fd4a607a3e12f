// Save and load tokenizers as Hugging Face tokenizers `tokenizer.json` (format version "1.0"),
// the file transformers.js and the Python `tokenizers` library read.
// The attend kind is recorded by the file's structure, which is exactly what each class writes:
//   bpe  -> model BPE, ByteLevel pre_tokenizer and decoder (GPT-2 layout);
//   char -> model WordLevel, Split pre_tokenizer isolating each code point, Fuse decoder;
//   word -> model WordLevel, the word Split pre_tokenizer and normalizer, no decoder.
// Loading accepts only what attend can reproduce exactly (plus GPT-2's ByteLevel
// post_processor and array-form merges), and names the file and field of anything else.
// Hugging Face libraries give the same ids with one difference: they match special-token
// strings typed in the text ("<s>" -> bos), where attend encodes them as ordinary text.

import { TokenizerError } from '../errors.js';
import { BpeTokenizer } from './bpe.js';
import { CHAR_PRE_TOKENIZER, CharTokenizer } from './char.js';
import { DEFAULT_SPECIAL_TOKENS, type Tokenizer } from './tokenizer.js';
import { WORD_PRE_TOKENIZER, WordTokenizer, wordNormalizerJSON } from './word.js';

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
  | { type: 'NFC' }
  | { type: 'Lowercase' }
  | { type: 'Replace'; pattern: { String: string }; content: string }
  | { type: 'Sequence'; normalizers: HFNormalizer[] };

export type HFPreTokenizer =
  | { type: 'ByteLevel'; add_prefix_space: boolean; trim_offsets: boolean; use_regex: boolean }
  | {
      type: 'Split';
      pattern: { Regex: string } | { String: string };
      behavior: 'Removed' | 'Isolated' | 'MergedWithPrevious' | 'MergedWithNext' | 'Contiguous';
      invert: boolean;
    };

export type HFDecoder =
  | { type: 'ByteLevel'; add_prefix_space: boolean; trim_offsets: boolean; use_regex: boolean }
  | { type: 'Fuse' };

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

export interface HFTokenizerJSON {
  version: '1.0';
  truncation: null;
  padding: null;
  added_tokens: HFAddedToken[];
  normalizer: HFNormalizer | null;
  pre_tokenizer: HFPreTokenizer | null;
  post_processor: null;
  decoder: HFDecoder | null;
  model: HFBPEModel | HFWordLevelModel;
}

type JsonObject = Record<string, unknown>;

const isObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Structural equality of JSON values (key order ignored). */
function jsonEqual(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  }
  if (isObject(a) && isObject(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k], b[k]));
  }
  return a === b;
}

const show = (value: unknown): string => {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
};

/** The tokenizer a `tokenizer.json` object describes; `source` names it in error messages. */
export function tokenizerFromJSON(json: unknown, source = 'tokenizer.json'): Tokenizer {
  const fail = (problem: string): never => {
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
  if (model.type !== 'BPE' && model.type !== 'WordLevel') {
    return fail(`unknown model type ${show(model.type)} (expected "BPE" or "WordLevel")`);
  }
  const tokens = readVocab(model.vocab, fail);
  checkAddedTokens(json.added_tokens, tokens, fail);

  if (model.type === 'BPE') {
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
    return new BpeTokenizer(tokens, readMerges(model.merges, fail), source);
  }

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

/** model.vocab as an id -> token array; ids must run 0..N-1 with no gaps or repeats. */
function readVocab(vocab: unknown, fail: (problem: string) => never): string[] {
  if (!isObject(vocab)) return fail(`model.vocab must be an object of token -> id, got ${show(vocab)}`);
  const entries = Object.entries(vocab);
  const tokens: (string | undefined)[] = new Array<string | undefined>(entries.length);
  for (const [token, id] of entries) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0)
      fail(`model.vocab[${show(token)}] must be a non-negative integer id, got ${show(id)}`);
    const n = id as number;
    if (n >= entries.length) fail(`model.vocab ids must run 0..${entries.length - 1}, got id ${n} for ${show(token)}`);
    const other = tokens[n];
    if (other !== undefined) fail(`model.vocab gives id ${n} to both ${show(other)} and ${show(token)}`);
    tokens[n] = token;
  }
  // N distinct ids below N: every slot is filled.
  return tokens as string[];
}

/** added_tokens must hold exactly attend's four special tokens, with the ids model.vocab gives them. */
function checkAddedTokens(added: unknown, tokens: readonly string[], fail: (problem: string) => never): void {
  if (!Array.isArray(added)) return fail(`added_tokens must be an array, got ${show(added)}`);
  const specials = new Set<string>(Object.values(DEFAULT_SPECIAL_TOKENS));
  const seen = new Set<string>();
  added.forEach((entry: unknown, i) => {
    if (!isObject(entry) || typeof entry.content !== 'string' || typeof entry.id !== 'number') {
      return fail(`added_tokens[${i}] must be an object with a string content and a number id, got ${show(entry)}`);
    }
    if (!specials.has(entry.content)) {
      fail(
        `added_tokens[${i}] ${show(entry.content)} is not one of attend's special tokens (${[...specials].join(', ')})`,
      );
    }
    if (seen.has(entry.content)) fail(`added_tokens lists ${show(entry.content)} twice`);
    seen.add(entry.content);
    if (tokens[entry.id] !== entry.content) {
      fail(
        `added_tokens[${i}] ${show(entry.content)} has id ${entry.id}, but model.vocab gives that id to ${show(tokens[entry.id])}`,
      );
    }
  });
  for (const special of specials) {
    if (!seen.has(special)) fail(`special token ${special} is missing from added_tokens`);
  }
}

/** model.merges as pairs; each is "left right" or ["left", "right"]. */
function readMerges(merges: unknown, fail: (problem: string) => never): [string, string][] {
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
