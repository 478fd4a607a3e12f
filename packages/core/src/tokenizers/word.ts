// Word-level tokenizer for small translation/classification corpora (e.g. the Tatoeba
// English-French pairs). Normalisation, in this order: NFC; the spaces French typography puts
// before ! ? ; : and inside « » (U+202F, U+00A0, U+2009) become plain spaces; U+200B and
// U+FEFF are removed; U+0085 becomes a space; the typographic apostrophe U+2019 becomes ';
// optional lowercasing.
// Splitting: a word is a run of letters, marks and digits; every other non-space character
// is a token of its own ("Va !" -> ["va", "!"], "3.5" -> ["3", ".", "5"]). An apostrophe
// between two word characters stays with the word before it, which keeps French elision as
// its own token ("l'homme" -> ["l'", "homme"], "aujourd'hui" -> ["aujourd'", "hui"]) and
// splits English contractions the same way ("don't" -> ["don'", "t"]).
// decode joins tokens with single spaces, so it is lossy: "Va !" decodes as "va !" and
// "l'homme" as "l' homme".
// tokenizer.json form: a Sequence normalizer (NFC, Replace..., Lowercase), a Split
// pre_tokenizer with the word regex (inverted: the matches are the tokens), a WordLevel model
// and no decoder (Hugging Face then joins tokens with spaces, as decode does here).

import { TokenizerError } from '../errors.js';
import type { HFNormalizer, HFPreTokenizer, HFTokenizerJSON } from './hf-json.js';
import {
  DEFAULT_SPECIAL_TOKENS,
  Vocabulary,
  type DecodeOptions,
  type EncodeOptions,
  type SpecialTokenIds,
  type Tokenizer,
} from './tokenizer.js';

/** Characters replaced before splitting, in order: [from, to]. */
const REPLACEMENTS: readonly (readonly [string, string])[] = [
  ['\u202f', ' '], // narrow no-break space
  ['\u00a0', ' '], // no-break space
  ['\u2009', ' '], // thin space
  ['\u200b', ''], // zero-width space
  ['\ufeff', ''], // byte-order mark / zero-width no-break space
  ['\u0085', ' '], // next line (with U+FEFF, where JS's \s and Rust/Oniguruma's \s disagree)
  ['\u2019', "'"], // right single quotation mark used as apostrophe
];

/** One token: a word (with an elision apostrophe when a word character follows it), or one other non-space character. */
const WORD_SPLIT_PATTERN = "[\\p{L}\\p{M}\\p{N}]+(?:'(?=[\\p{L}\\p{M}\\p{N}]))?|[^\\s\\p{L}\\p{M}\\p{N}]";
const WORD_SPLIT_REGEX = new RegExp(WORD_SPLIT_PATTERN, 'gu');

export const WORD_PRE_TOKENIZER: HFPreTokenizer = {
  type: 'Split',
  pattern: { Regex: WORD_SPLIT_PATTERN },
  behavior: 'Removed',
  invert: true,
};

/** The `tokenizer.json` normalizer that does what normalizeWordText does. */
export function wordNormalizerJSON(lowercase: boolean): HFNormalizer {
  const normalizers: HFNormalizer[] = [
    { type: 'NFC' },
    ...REPLACEMENTS.map(([from, to]): HFNormalizer => ({ type: 'Replace', pattern: { String: from }, content: to })),
  ];
  if (lowercase) normalizers.push({ type: 'Lowercase' });
  return { type: 'Sequence', normalizers };
}

export function normalizeWordText(text: string, lowercase: boolean): string {
  let normalized = text.normalize('NFC');
  for (const [from, to] of REPLACEMENTS) normalized = normalized.replaceAll(from, to);
  return lowercase ? normalized.toLowerCase() : normalized;
}

/** Normalised text split into word and punctuation tokens. */
export function splitWords(text: string, lowercase: boolean): string[] {
  return normalizeWordText(text, lowercase).match(WORD_SPLIT_REGEX) ?? [];
}

export interface WordTokenizerOptions {
  /** Lowercase text before splitting. Default true. */
  lowercase?: boolean;
}

export interface WordCorpusOptions extends WordTokenizerOptions {
  /** Words seen fewer times than this map to <unk>. Default 1. */
  minFreq?: number;
  /** Largest vocabulary, the 4 special tokens included; the most frequent words are kept. Default: no limit. */
  maxVocab?: number;
}

export class WordTokenizer implements Tokenizer {
  readonly kind = 'word';
  readonly lowercase: boolean;
  readonly #vocab: Vocabulary;

  /** `tokens[id]` is the token string of id; the four special tokens must be among them. */
  constructor(tokens: readonly string[], options: WordTokenizerOptions = {}, source = 'WordTokenizer') {
    this.#vocab = new Vocabulary(tokens, source);
    this.lowercase = options.lowercase ?? true;
  }

  /** Words ordered by decreasing frequency (ties in string order) after the special tokens. */
  static fromCorpus(texts: Iterable<string>, options: WordCorpusOptions = {}): WordTokenizer {
    const lowercase = options.lowercase ?? true;
    const minFreq = options.minFreq ?? 1;
    const maxVocab = options.maxVocab ?? Infinity;
    if (!Number.isInteger(minFreq) || minFreq < 1) {
      throw new TokenizerError(`WordTokenizer.fromCorpus: minFreq must be an integer >= 1, got ${minFreq}`);
    }
    if (maxVocab !== Infinity && (!Number.isInteger(maxVocab) || maxVocab < 5)) {
      throw new TokenizerError(
        `WordTokenizer.fromCorpus: maxVocab must be an integer >= 5 (4 special tokens + 1), got ${maxVocab}`,
      );
    }
    const counts = new Map<string, number>();
    for (const text of texts) {
      for (const word of splitWords(text, lowercase)) counts.set(word, (counts.get(word) ?? 0) + 1);
    }
    const words = [...counts]
      .filter(([, n]) => n >= minFreq)
      .sort(([a, na], [b, nb]) => nb - na || (a < b ? -1 : a > b ? 1 : 0))
      .map(([word]) => word);
    const tokens = Vocabulary.withSpecialTokens(words);
    return new WordTokenizer(tokens.slice(0, maxVocab), { lowercase });
  }

  get vocabSize(): number {
    return this.#vocab.size;
  }

  get specialTokenIds(): SpecialTokenIds {
    return this.#vocab.specialTokenIds;
  }

  encode(text: string, options?: EncodeOptions): number[] {
    const unk = this.#vocab.specialTokenIds.unk;
    const ids = splitWords(text, this.lowercase).map((word) => this.#vocab.id(word) ?? unk);
    return this.#vocab.frame(ids, options);
  }

  /** Tokens joined by single spaces (lossy: see the file header). */
  decode(ids: readonly number[], options?: DecodeOptions): string {
    const skip = options?.skipSpecialTokens ?? true;
    const words: string[] = [];
    for (const id of ids) {
      const token = this.#vocab.token(id, 'WordTokenizer.decode');
      if (!(skip && this.#vocab.isSpecial(id))) words.push(token);
    }
    return words.join(' ');
  }

  idsToTokens(ids: readonly number[]): string[] {
    return ids.map((id) => this.#vocab.token(id, 'WordTokenizer.idsToTokens'));
  }

  tokenToId(token: string): number | undefined {
    return this.#vocab.id(token);
  }

  toJSON(): HFTokenizerJSON {
    return this.#vocab.wordLevelJSON({ normalizer: wordNormalizerJSON(this.lowercase), preTokenizer: WORD_PRE_TOKENIZER, decoder: null });
  }
}
