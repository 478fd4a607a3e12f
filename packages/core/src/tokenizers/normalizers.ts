// The `normalizer` of a Hugging Face tokenizer.json as a string -> string function, built from
// a small registry of the types the WordPiece (BERT) and Unigram (SentencePiece, e.g. Marian)
// files use: BertNormalizer, Precompiled, the four Unicode forms, Lowercase, Replace, Sequence.
// Lowercasing is per code point, as the Rust tokenizers library does (so a final capital sigma
// becomes σ, where String.prototype.toLowerCase would write ς).

import { Charsmap } from './charsmap.js';
import { type Fail, isObject, type JsonObject, readBoolean, readString, show } from './hf-fields.js';

export type Normalize = (text: string) => string;

/** Per-code-point lowercase (String.prototype.toLowerCase differs only at a final Σ). */
export function lowercase(text: string): string {
  if (!text.includes('Σ')) return text.toLowerCase();
  let out = '';
  for (const ch of text) out += ch.toLowerCase();
  return out;
}

/** The CJK ideograph blocks BERT surrounds with spaces (its tokenization.py's list). */
function isCjkIdeograph(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b820 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

/** BERT's "control" characters: other-categories except the tab, newline and carriage return that count as whitespace. */
const BERT_CONTROL = /^[\p{Cc}\p{Cf}\p{Co}\p{Cs}]$/u;
const WHITESPACE = /^\p{White_Space}$/u;

/**
 * BertNormalizer: clean_text drops NUL, U+FFFD and control characters and turns each whitespace
 * character into a space; handle_chinese_chars puts spaces around CJK ideographs (by code point,
 * astral blocks included); strip_accents (default: as lowercase) decomposes (NFD) and drops
 * non-spacing marks; lowercase last.
 */
function bertNormalizer(json: JsonObject, path: string, fail: Fail): Normalize {
  const cleanText = readBoolean(json, 'clean_text', path, true, fail);
  const chinese = readBoolean(json, 'handle_chinese_chars', path, true, fail);
  const lower = readBoolean(json, 'lowercase', path, true, fail);
  const stripAccents = readBoolean(json, 'strip_accents', path, lower, fail);
  return (text) => {
    let out = '';
    for (const ch of text) {
      if (cleanText) {
        if (ch === '\0' || ch === '\ufffd' || (ch !== '\t' && ch !== '\n' && ch !== '\r' && BERT_CONTROL.test(ch))) continue;
        if (WHITESPACE.test(ch)) {
          out += ' ';
          continue;
        }
      }
      out += chinese && isCjkIdeograph(ch.codePointAt(0)!) ? ` ${ch} ` : ch;
    }
    if (stripAccents) out = out.normalize('NFD').replace(/\p{Mn}/gu, '');
    return lower ? lowercase(out) : out;
  };
}

/** Removed by SentencePiece's nmt_nfkc rules: C0 controls other than whitespace, DEL, two C1 controls. */
const NMT_REMOVED = /[\u0001-\u0008\u000b\u000e-\u001f\u007f\u008f\u009f]/g;
/** Mapped to a space by nmt_nfkc: tab, newlines, form feed, the Unicode spaces, zero-widths, separators, ▁, BOM, U+FFFD. */
const NMT_SPACES = /[\t\n\f\r\u00a0\u1680\u2000-\u200f\u2028\u2029\u202f\u205f\u2581\u3000\ufeff\ufffd]/g;

/**
 * Precompiled: SentencePiece's normalization, stored as `precompiled_charsmap` (base64; see
 * charsmap.ts), applied as the Hugging Face library applies it. A file whose charsmap is null
 * gets an approximation of SentencePiece's default `nmt_nfkc` map, as transformers.js applies to
 * every file: the controls of NMT_REMOVED dropped, the characters of NMT_SPACES made spaces, then
 * NFKC except that U+FF5E (fullwidth tilde) is kept.
 */
function precompiled(json: JsonObject, path: string, fail: Fail): Normalize {
  const encoded = json.precompiled_charsmap;
  if (encoded === null || encoded === undefined) {
    return (text) =>
      text
        .replace(NMT_REMOVED, '')
        .replace(NMT_SPACES, ' ')
        .split('\uff5e')
        .map((part) => part.normalize('NFKC'))
        .join('\uff5e');
  }
  let bytes: Uint8Array;
  try {
    if (typeof encoded !== 'string') throw new TypeError();
    bytes = Uint8Array.from(atob(encoded), (c) => c.charCodeAt(0));
  } catch {
    return fail(`${path}.precompiled_charsmap must be a base64 string or null, got ${show(encoded)}`);
  }
  const charsmap = Charsmap.fromBytes(bytes);
  if (typeof charsmap === 'string') return fail(`${path}.precompiled_charsmap is not a SentencePiece charsmap: ${charsmap}`);
  return (text) => charsmap.normalize(text);
}

/** Replace: every match of a literal string or a regular expression. */
function replace(json: JsonObject, path: string, fail: Fail): Normalize {
  const pattern = json.pattern;
  const content = json.content;
  if (typeof content !== 'string') fail(`${path}.content must be a string, got ${show(content)}`);
  if (isObject(pattern) && typeof pattern.String === 'string') {
    const literal = pattern.String;
    return (text) => text.replaceAll(literal, content as string);
  }
  if (isObject(pattern) && typeof pattern.Regex === 'string') {
    let regex: RegExp;
    try {
      regex = new RegExp(pattern.Regex, 'gu');
    } catch {
      return fail(`${path}.pattern.Regex ${show(pattern.Regex)} is not a regular expression JavaScript reads`);
    }
    return (text) => text.replace(regex, () => content as string);
  }
  return fail(`${path}.pattern must be {"String": ...} or {"Regex": ...}, got ${show(pattern)}`);
}

type NormalizerBuilder = (json: JsonObject, path: string, fail: Fail) => Normalize;

const NORMALIZERS: Readonly<Record<string, NormalizerBuilder>> = {
  BertNormalizer: bertNormalizer,
  Precompiled: precompiled,
  NFC: () => (text) => text.normalize('NFC'),
  NFD: () => (text) => text.normalize('NFD'),
  NFKC: () => (text) => text.normalize('NFKC'),
  NFKD: () => (text) => text.normalize('NFKD'),
  Lowercase: () => lowercase,
  Replace: replace,
  Sequence: (json, path, fail) => {
    if (!Array.isArray(json.normalizers)) return fail(`${path}.normalizers must be an array, got ${show(json.normalizers)}`);
    const steps = json.normalizers.map((step: unknown, i) => normalizerFromJSON(step, `${path}.normalizers[${i}]`, fail));
    return (text) => steps.reduce((out, step) => step(out), text);
  },
};

/** The normalizer `json` describes (null: none); `path` names it in errors ("normalizer"). */
export function normalizerFromJSON(json: unknown, path: string, fail: Fail): Normalize {
  if (json === null || json === undefined) return (text) => text;
  if (!isObject(json)) return fail(`${path} must be an object or null, got ${show(json)}`);
  const type = readString(json, 'type', path, undefined, fail);
  if (!Object.hasOwn(NORMALIZERS, type)) {
    return fail(`${path}.type ${show(type)} is not supported (supported: ${Object.keys(NORMALIZERS).join(', ')})`);
  }
  return NORMALIZERS[type]!(json, path, fail);
}
