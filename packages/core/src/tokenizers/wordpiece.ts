// WordPiece (Schuster & Nakajima, 2012; BERT, Devlin et al., 2019) read from a Hugging Face
// tokenizer.json as it is written for BERT: the normalizer (BertNormalizer), the
// BertPreTokenizer (split on whitespace, each punctuation character its own word), the WordPiece
// model (greedy longest match first, pieces after the first of a word spelled with the
// continuing prefix "##", a word with an unmatched rest or longer than max_input_chars_per_word
// becomes one unk), the TemplateProcessing post-processor and the WordPiece decoder.

import type { HFTokenizerJSON } from './hf-json.js';
import { type Fail, isObject, type JsonObject, readAddedTokens, readBoolean, readString, readVocab, show, specialTokensFrom } from './hf-fields.js';
import { type Normalize, normalizerFromJSON } from './normalizers.js';
import { type EncodedWithSpecialTokens, TemplateProcessor } from './template.js';
import { Vocabulary, type DecodeOptions, type EncodeOptions, type SpecialTokenIds, type Tokenizer } from './tokenizer.js';

/** BERT's punctuation: every ASCII non-alphanumeric printable (so $, +, <, ^, ` too) and Unicode P*. */
const BERT_WORDS = /[^\p{White_Space}\p{P}!-/:-@[-`{-~]+|[\p{P}!-/:-@[-`{-~]/gu;

/** The WordPiece decoder's cleanup: spaces before punctuation and English contractions removed. */
const CLEANUPS: readonly (readonly [string, string])[] = [
  [' .', '.'],
  [' ?', '?'],
  [' !', '!'],
  [' ,', ','],
  [" ' ", "'"],
  [" n't", "n't"],
  [" 'm", "'m"],
  [" do not", " don't"],
  [" 's", "'s"],
  [" 've", "'ve"],
  [" 're", "'re"],
];

const ENCODE_CACHE_LIMIT = 50_000;

interface WordPieceDecoder {
  prefix: string;
  cleanup: boolean;
}

export class WordPieceTokenizer implements Tokenizer {
  readonly kind = 'wordpiece';
  readonly #json: HFTokenizerJSON;
  readonly #vocab: Vocabulary;
  readonly #normalize: Normalize;
  readonly #prefix: string;
  readonly #maxWordChars: number;
  /** The most code points of any piece (prefix not counted): no longer match is tried. */
  readonly #maxPieceChars: number;
  readonly #unkId: number;
  /** Ids of every added token (BERT's [MASK] too): dropped by decode when skipping special tokens. */
  readonly #addedIds: ReadonlySet<number>;
  readonly #template: TemplateProcessor;
  readonly #decoder: WordPieceDecoder | null;
  readonly #cache = new Map<string, readonly number[]>();

  private constructor(json: JsonObject, model: JsonObject, fail: Fail, source: string) {
    const tokens = readVocab(model.vocab, fail);
    const unk = readString(model, 'unk_token', 'model', undefined, fail);
    const added = readAddedTokens(json.added_tokens, tokens, fail);
    this.#vocab = new Vocabulary(tokens, source, specialTokensFrom(added, fail, unk));
    this.#addedIds = new Set([...added.map((t) => this.#vocab.id(t)!), ...Object.values(this.#vocab.specialTokenIds)]);
    this.#unkId = this.#vocab.specialTokenIds.unk;
    this.#prefix = readString(model, 'continuing_subword_prefix', 'model', '##', fail);
    const maxChars = model.max_input_chars_per_word ?? 100;
    if (typeof maxChars !== 'number' || !Number.isInteger(maxChars) || maxChars < 1) {
      fail(`model.max_input_chars_per_word must be a positive integer, got ${show(maxChars)}`);
    }
    this.#maxWordChars = maxChars as number;
    this.#maxPieceChars = tokens.reduce((n, t) => Math.max(n, [...(t.startsWith(this.#prefix) ? t.slice(this.#prefix.length) : t)].length), 1);
    this.#normalize = normalizerFromJSON(json.normalizer, 'normalizer', fail);
    if (!isObject(json.pre_tokenizer) || json.pre_tokenizer.type !== 'BertPreTokenizer') {
      fail(`pre_tokenizer must be BertPreTokenizer for a WordPiece model, got ${show(json.pre_tokenizer)}`);
    }
    this.#template = TemplateProcessor.fromJSON(json.post_processor, tokens, fail);
    const decoder = json.decoder;
    if (decoder === null || decoder === undefined) this.#decoder = null;
    else if (isObject(decoder) && decoder.type === 'WordPiece') {
      this.#decoder = {
        prefix: readString(decoder, 'prefix', 'decoder', '##', fail),
        cleanup: readBoolean(decoder, 'cleanup', 'decoder', true, fail),
      };
    } else this.#decoder = fail(`decoder must be WordPiece or null for a WordPiece model, got ${show(decoder)}`);
    this.#json = structuredClone(json) as unknown as HFTokenizerJSON;
  }

  /** The tokenizer a tokenizer.json with a WordPiece model describes (`model` is json.model). */
  static fromJSON(json: JsonObject, model: JsonObject, fail: Fail, source: string): WordPieceTokenizer {
    return new WordPieceTokenizer(json, model, fail, source);
  }

  /** `text` as the file's normalizer leaves it (what the pre-tokenizer and model then see). */
  normalize(text: string): string {
    return this.#normalize(text);
  }

  get vocabSize(): number {
    return this.#vocab.size;
  }

  get specialTokenIds(): SpecialTokenIds {
    return this.#vocab.specialTokenIds;
  }

  /** Normalized, split into words, each word into pieces; no template (see encodeWithSpecialTokens). */
  encode(text: string, options?: EncodeOptions): number[] {
    const ids: number[] = [];
    for (const match of this.#normalize(text).matchAll(BERT_WORDS)) {
      const word = match[0];
      let wordIds = this.#cache.get(word);
      if (wordIds === undefined) {
        wordIds = this.#encodeWord(word);
        if (this.#cache.size >= ENCODE_CACHE_LIMIT) this.#cache.clear();
        this.#cache.set(word, wordIds);
      }
      for (const id of wordIds) ids.push(id);
    }
    return this.#vocab.frame(ids, options);
  }

  /** `text` (and `pair`) encoded with the post-processor's template, e.g. [CLS] a [SEP] b [SEP], and type ids. */
  encodeWithSpecialTokens(text: string, pair?: string): EncodedWithSpecialTokens {
    return this.#template.apply(this.encode(text), pair === undefined ? undefined : this.encode(pair));
  }

  #encodeWord(word: string): number[] {
    const chars = [...word];
    if (chars.length > this.#maxWordChars) return [this.#unkId];
    const ids: number[] = [];
    for (let start = 0; start < chars.length; ) {
      let end = Math.min(chars.length, start + this.#maxPieceChars);
      let id: number | undefined;
      for (; end > start; end--) {
        id = this.#vocab.id((start > 0 ? this.#prefix : '') + chars.slice(start, end).join(''));
        if (id !== undefined) break;
      }
      if (id === undefined) return [this.#unkId];
      ids.push(id);
      start = end;
    }
    return ids;
  }

  /** Pieces joined: a piece with the decoder's prefix continues the word, others start a new one after a space. */
  decode(ids: readonly number[], options?: DecodeOptions): string {
    const skip = options?.skipSpecialTokens ?? true;
    const tokens = this.idsToTokens(ids).filter((_, i) => !(skip && this.#addedIds.has(ids[i]!)));
    if (this.#decoder === null) return tokens.join(' ');
    const { prefix, cleanup } = this.#decoder;
    return tokens
      .map((token, i) => {
        let out = i === 0 ? token : token.startsWith(prefix) ? token.slice(prefix.length) : ` ${token}`;
        if (cleanup) for (const [from, to] of CLEANUPS) out = out.replaceAll(from, to);
        return out;
      })
      .join('');
  }

  idsToTokens(ids: readonly number[]): string[] {
    return ids.map((id) => this.#vocab.token(id, 'WordPieceTokenizer.idsToTokens'));
  }

  tokenToId(token: string): number | undefined {
    return this.#vocab.id(token);
  }

  /** The tokenizer.json it was read from. */
  toJSON(): HFTokenizerJSON {
    return structuredClone(this.#json);
  }
}
