// Character-level tokenizer: one id per Unicode code point (not per UTF-16 unit), unknown
// characters -> <unk>. No normalisation, so decode(encode(text)) === text whenever every
// character of text is in the vocabulary.
// tokenizer.json form: a WordLevel model whose pre_tokenizer isolates every code point
// (Split on the regex `[\s\S]`, inverted) and a Fuse decoder that joins tokens with no space.

import { TokenizerError } from '../errors.js';
import type { HFPreTokenizer, HFTokenizerJSON } from './hf-json.js';
import {
  DEFAULT_SPECIAL_TOKENS,
  Vocabulary,
  type DecodeOptions,
  type EncodeOptions,
  type SpecialTokenIds,
  type Tokenizer,
} from './tokenizer.js';

/** The Split pre_tokenizer that keeps each code point as its own piece. */
export const CHAR_PRE_TOKENIZER: HFPreTokenizer = {
  type: 'Split',
  pattern: { Regex: '[\\s\\S]' },
  behavior: 'Removed',
  invert: true,
};

export interface CharCorpusOptions {
  /** Characters seen fewer times than this map to <unk>. Default 1 (keep every character). */
  minFreq?: number;
}

function byCodePoint(a: string, b: string): number {
  return a.codePointAt(0)! - b.codePointAt(0)!;
}

export class CharTokenizer implements Tokenizer {
  readonly kind = 'char';
  readonly #vocab: Vocabulary;

  /** `tokens[id]` is the token string of id; each is one code point except the four special tokens. */
  constructor(tokens: readonly string[], source = 'CharTokenizer') {
    this.#vocab = new Vocabulary(tokens, source);
    this.#vocab.tokens.forEach((token, id) => {
      if (!this.#vocab.isSpecial(id) && [...token].length !== 1) {
        throw new TokenizerError(`${source}: token ${JSON.stringify(token)} (id ${id}) is not a single character`);
      }
    });
  }

  /** Every character of `texts` (at least `minFreq` times), ids in code-point order after the special tokens. */
  static fromCorpus(texts: Iterable<string>, options: CharCorpusOptions = {}): CharTokenizer {
    const minFreq = options.minFreq ?? 1;
    if (!Number.isInteger(minFreq) || minFreq < 1) {
      throw new TokenizerError(`CharTokenizer.fromCorpus: minFreq must be an integer >= 1, got ${minFreq}`);
    }
    const counts = new Map<string, number>();
    for (const text of texts) {
      for (const ch of text) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    }
    const chars = [...counts].filter(([, n]) => n >= minFreq).map(([ch]) => ch);
    return new CharTokenizer(Vocabulary.withSpecialTokens(chars.sort(byCodePoint)));
  }

  /** The given characters in the given order (duplicates dropped) after the special tokens. */
  static fromAlphabet(alphabet: string | Iterable<string>): CharTokenizer {
    const chars = new Set<string>();
    for (const ch of alphabet) {
      if ([...ch].length !== 1) {
        throw new TokenizerError(`CharTokenizer.fromAlphabet: ${JSON.stringify(ch)} is not a single character`);
      }
      chars.add(ch);
    }
    return new CharTokenizer(Vocabulary.withSpecialTokens(chars));
  }

  get vocabSize(): number {
    return this.#vocab.size;
  }

  get specialTokenIds(): SpecialTokenIds {
    return this.#vocab.specialTokenIds;
  }

  encode(text: string, options?: EncodeOptions): number[] {
    const unk = this.#vocab.specialTokenIds.unk;
    const ids: number[] = [];
    for (const ch of text) ids.push(this.#vocab.id(ch) ?? unk);
    return this.#vocab.frame(ids, options);
  }

  decode(ids: readonly number[], options?: DecodeOptions): string {
    const skip = options?.skipSpecialTokens ?? true;
    let text = '';
    for (const id of ids) {
      const token = this.#vocab.token(id, 'CharTokenizer.decode');
      if (!(skip && this.#vocab.isSpecial(id))) text += token;
    }
    return text;
  }

  idsToTokens(ids: readonly number[]): string[] {
    return ids.map((id) => this.#vocab.token(id, 'CharTokenizer.idsToTokens'));
  }

  tokenToId(token: string): number | undefined {
    return this.#vocab.id(token);
  }

  toJSON(): HFTokenizerJSON {
    return this.#vocab.wordLevelJSON({ normalizer: null, preTokenizer: CHAR_PRE_TOKENIZER, decoder: { type: 'Fuse' } });
  }
}
