// Reading the parts of a Hugging Face `tokenizer.json` that every model type shares: JSON
// shapes, the token -> id vocabulary, added_tokens and the special-token roles they fill.
// Every problem is one line naming the field, through the loader's `fail`.

import type { SpecialTokens } from './tokenizer.js';

export type JsonObject = Record<string, unknown>;

/** Throws a one-line TokenizerError naming the file; `problem` names the field. */
export type Fail = (problem: string) => never;

export const isObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Structural equality of JSON values (key order ignored). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  }
  if (isObject(a) && isObject(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k], b[k]));
  }
  return a === b;
}

/** A JSON value for an error message, cut to 120 characters. */
export const show = (value: unknown): string => {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
};

/** `object[field]` when it is a boolean, `fallback` when absent or null; fails naming `path` otherwise. */
export function readBoolean(object: JsonObject, field: string, path: string, fallback: boolean, fail: Fail): boolean {
  const value = object[field];
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'boolean') fail(`${path}.${field} must be true or false, got ${show(value)}`);
  return value as boolean;
}

/** `object[field]` when it is a non-empty string, `fallback` when absent; fails naming `path` otherwise. */
export function readString(object: JsonObject, field: string, path: string, fallback: string | undefined, fail: Fail): string {
  const value = object[field];
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'string' || value === '') fail(`${path}.${field} must be a non-empty string, got ${show(value)}`);
  return value as string;
}

/** model.vocab as an id -> token array; ids must run 0..N-1 with no gaps or repeats. */
export function readVocab(vocab: unknown, fail: Fail): string[] {
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

/**
 * added_tokens as listed: each an object with a string content and a number id that the model's
 * vocabulary gives to that same content (tokens outside the vocabulary are not supported), none
 * twice. With `only` (the char and word tokenizers' files), exactly those tokens.
 */
export function readAddedTokens(added: unknown, tokens: readonly string[], fail: Fail, only?: readonly string[]): string[] {
  if (!Array.isArray(added)) return fail(`added_tokens must be an array, got ${show(added)}`);
  const seen = new Set<string>();
  const contents = added.map((entry: unknown, i): string => {
    if (!isObject(entry) || typeof entry.content !== 'string' || typeof entry.id !== 'number') {
      return fail(`added_tokens[${i}] must be an object with a string content and a number id, got ${show(entry)}`);
    }
    if (only && !only.includes(entry.content)) {
      fail(`added_tokens[${i}] ${show(entry.content)} is not one of attend's special tokens (${only.join(', ')})`);
    }
    if (seen.has(entry.content)) fail(`added_tokens lists ${show(entry.content)} twice`);
    seen.add(entry.content);
    if (tokens[entry.id] !== entry.content) {
      fail(
        `added_tokens[${i}] ${show(entry.content)} has id ${entry.id}, but model.vocab gives that id to ${show(tokens[entry.id])}`,
      );
    }
    return entry.content;
  });
  for (const token of only ?? []) if (!seen.has(token)) fail(`special token ${token} is missing from added_tokens`);
  return contents;
}

/**
 * Token strings that fill each special role in the files Hugging Face writes, most specific
 * first: attend's and SentencePiece's `<s>`…, BERT's `[CLS]`…, GPT-2's single `<|endoftext|>`.
 */
const ROLE_CANDIDATES: Readonly<Record<keyof SpecialTokens, readonly string[]>> = {
  pad: ['<pad>', '[PAD]', '<|endoftext|>'],
  bos: ['<s>', '[CLS]', '<|endoftext|>'],
  eos: ['</s>', '[SEP]', '<|endoftext|>'],
  unk: ['<unk>', '[UNK]', '<|endoftext|>'],
};

/**
 * The special token of each role among `added` (the file's added_tokens): the first candidate
 * of ROLE_CANDIDATES present; `unk` when the model names its own unknown token. A file without a
 * bos candidate (Marian's: </s>, <unk>, <pad>) uses pad, the token its decoder starts from.
 */
export function specialTokensFrom(added: readonly string[], fail: Fail, unk?: string): SpecialTokens {
  const present = new Set(added);
  const pick = (role: keyof SpecialTokens): string | undefined => ROLE_CANDIDATES[role].find((t) => present.has(t));
  const pad = pick('pad');
  const roles = { pad, bos: pick('bos') ?? pad, eos: pick('eos'), unk: unk ?? pick('unk') };
  for (const role of ['pad', 'bos', 'eos', 'unk'] as const) {
    if (roles[role] === undefined) {
      fail(`added_tokens has no ${role} token (looked for ${ROLE_CANDIDATES[role].join(', ')}), got ${show(added)}`);
    }
  }
  return roles as SpecialTokens;
}
