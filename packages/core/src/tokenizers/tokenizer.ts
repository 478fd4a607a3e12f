// The contract every attend tokenizer meets (char, word, byte-level BPE, and the WordPiece and
// Unigram tokenizers of imported models), the four special-token roles they all fill, and the
// id <-> token table they are built on. Tokenizers save to
// and load from the Hugging Face tokenizers `tokenizer.json` format (see hf-json.ts).

import { TokenizerError } from '../errors.js';
import type { HFAddedToken, HFDecoder, HFNormalizer, HFPreTokenizer, HFTokenizerJSON } from './hf-json.js';

export interface SpecialTokenIds {
  pad: number;
  bos: number;
  eos: number;
  unk: number;
}

/** Special token strings; every tokenizer attend builds gives them ids 0, 1, 2, 3 in this order. */
export const DEFAULT_SPECIAL_TOKENS = { pad: '<pad>', bos: '<s>', eos: '</s>', unk: '<unk>' } as const;

/** The token string of each special role (one string may fill several roles, as GPT-2's <|endoftext|>). */
export type SpecialTokens = Readonly<Record<keyof SpecialTokenIds, string>>;

const SPECIAL_ROLES = ['pad', 'bos', 'eos', 'unk'] as const;

export interface EncodeOptions {
  /** Prepend the bos id. Default false. */
  addBos?: boolean;
  /** Append the eos id. Default false. */
  addEos?: boolean;
}

export interface DecodeOptions {
  /** Drop pad, bos, eos and unk ids from the text. Default true. */
  skipSpecialTokens?: boolean;
}

export interface Tokenizer {
  readonly kind: 'char' | 'word' | 'bpe' | 'wordpiece' | 'unigram';
  readonly vocabSize: number;
  readonly specialTokenIds: SpecialTokenIds;
  /**
   * Text to ids. Special-token strings inside `text` (e.g. a literal "<s>") are ordinary
   * text, never matched as special tokens.
   */
  encode(text: string, options?: EncodeOptions): number[];
  decode(ids: readonly number[], options?: DecodeOptions): string;
  /** The token strings for ids (for labelling attention heatmaps); special tokens included. */
  idsToTokens(ids: readonly number[]): string[];
  tokenToId(token: string): number | undefined;
  /** Hugging Face tokenizers `tokenizer.json` object. */
  toJSON(): HFTokenizerJSON;
}

/**
 * The id -> token table of a tokenizer: ids are array positions, every token appears once,
 * and the special tokens are present (anywhere; attend's builders put theirs at 0-3).
 */
export class Vocabulary {
  readonly tokens: readonly string[];
  readonly specialTokenIds: SpecialTokenIds;
  readonly #ids = new Map<string, number>();
  readonly #specialIds: ReadonlySet<number>;

  /** `source` names the caller or file in error messages; `specials` the token of each role. */
  constructor(tokens: readonly string[], source: string, specials: SpecialTokens = DEFAULT_SPECIAL_TOKENS) {
    this.tokens = [...tokens];
    this.tokens.forEach((token, id) => {
      const previous = this.#ids.get(token);
      if (previous !== undefined) {
        throw new TokenizerError(
          `${source}: token ${JSON.stringify(token)} appears twice in the vocabulary (ids ${previous} and ${id})`,
        );
      }
      this.#ids.set(token, id);
    });
    const ids = {} as SpecialTokenIds;
    for (const role of SPECIAL_ROLES) {
      const id = this.#ids.get(specials[role]);
      if (id === undefined) {
        throw new TokenizerError(`${source}: the vocabulary lacks the special token ${specials[role]}`);
      }
      ids[role] = id;
    }
    this.specialTokenIds = ids;
    this.#specialIds = new Set(Object.values(ids));
  }

  /** The four special tokens (ids 0-3) followed by `regular`, skipping any special-token string in it. */
  static withSpecialTokens(regular: Iterable<string>): string[] {
    const specials: string[] = SPECIAL_ROLES.map((role) => DEFAULT_SPECIAL_TOKENS[role]);
    const skip = new Set(specials);
    const tokens = [...specials];
    for (const token of regular) if (!skip.has(token)) tokens.push(token);
    return tokens;
  }

  get size(): number {
    return this.tokens.length;
  }

  id(token: string): number | undefined {
    return this.#ids.get(token);
  }

  isSpecial(id: number): boolean {
    return this.#specialIds.has(id);
  }

  /** The token for `id`; throws a TokenizerError naming `caller` for a non-integer or out-of-range id. */
  token(id: number, caller: string): string {
    const token = Number.isInteger(id) ? this.tokens[id] : undefined;
    if (token === undefined) {
      throw new TokenizerError(`${caller}: id ${id} is not in the vocabulary (ids 0..${this.tokens.length - 1})`);
    }
    return token;
  }

  /** Adds bos/eos around ids as the options ask. */
  frame(ids: number[], options: EncodeOptions | undefined): number[] {
    if (options?.addBos) ids.unshift(this.specialTokenIds.bos);
    if (options?.addEos) ids.push(this.specialTokenIds.eos);
    return ids;
  }

  /** `tokenizer.json` `added_tokens` entries for the special tokens, by id. */
  addedTokensJSON(): HFAddedToken[] {
    return [...this.#specialIds]
      .sort((a, b) => a - b)
      .map((id) => ({
        id,
        content: this.token(id, 'Vocabulary'),
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
        special: true,
      }));
  }

  /** token -> id object in id order. Null prototype, so a token such as "__proto__" is an ordinary key. */
  vocabJSON(): Record<string, number> {
    const vocab = Object.create(null) as Record<string, number>;
    this.tokens.forEach((token, id) => {
      vocab[token] = id;
    });
    return vocab;
  }
  /** A Hugging Face `WordLevel` tokenizer.json over this vocabulary (char and word tokenizers). */
  wordLevelJSON(parts: { normalizer: HFNormalizer | null; preTokenizer: HFPreTokenizer; decoder: HFDecoder | null }): HFTokenizerJSON {
    return {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: this.addedTokensJSON(),
      normalizer: parts.normalizer,
      pre_tokenizer: structuredClone(parts.preTokenizer),
      post_processor: null,
      decoder: parts.decoder,
      model: { type: 'WordLevel', vocab: this.vocabJSON(), unk_token: DEFAULT_SPECIAL_TOKENS.unk },
    };
  }
}
