// Unigram language-model tokenization (Kudo, 2018; SentencePiece) read from a Hugging Face
// tokenizer.json as the converted SentencePiece files (Marian's, e.g. opus-mt-en-fr) write it:
// a normalizer (Precompiled, see normalizers.ts), the Metaspace pre-tokenizer (spaces become
// "▁", one is put in front as prepend_scheme / add_prefix_space ask, and with `split` the text
// is cut before each "▁"), the Unigram model (pieces with log-probability scores; the Viterbi
// path of highest total score; a character no piece starts with is unk, scored the lowest
// piece score minus 10; consecutive unks fuse into one; with byte_fallback an unknown stretch
// is spelled by its UTF-8 bytes' <0xXX> pieces), the TemplateProcessing post-processor and
// the Metaspace decoder.

import type { HFTokenizerJSON } from './hf-json.js';
import { type Fail, isObject, type JsonObject, readAddedTokens, readBoolean, readString, show, specialTokensFrom } from './hf-fields.js';
import { type Normalize, normalizerFromJSON } from './normalizers.js';
import { type EncodedWithSpecialTokens, TemplateProcessor } from './template.js';
import { Vocabulary, type DecodeOptions, type EncodeOptions, type SpecialTokenIds, type Tokenizer } from './tokenizer.js';

/** How far below the lowest piece score an unknown character scores (the Hugging Face and SentencePiece value). */
const UNK_PENALTY = 10;
const ENCODE_CACHE_LIMIT = 50_000;
const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

/** A trie over code points: the pieces that start at a position, found in one walk. */
interface TrieNode {
  children: Map<string, TrieNode>;
  id: number;
}

interface Metaspace {
  replacement: string;
  /** Whether a replacement is put in front of text that does not start with one ("always" and "first" alike: the text is one section). */
  prepend: boolean;
  split: boolean;
}

/** Metaspace pre_tokenizer or decoder fields; prepend_scheme wins over the older add_prefix_space. */
function readMetaspace(json: JsonObject, path: string, fail: Fail): Metaspace {
  const replacement = readString(json, 'replacement', path, '▁', fail);
  if ([...replacement].length !== 1) fail(`${path}.replacement must be one character, got ${show(replacement)}`);
  const scheme = json.prepend_scheme;
  if (scheme !== undefined && scheme !== 'always' && scheme !== 'first' && scheme !== 'never') {
    fail(`${path}.prepend_scheme must be "always", "first" or "never", got ${show(scheme)}`);
  }
  const prepend = scheme === undefined ? readBoolean(json, 'add_prefix_space', path, true, fail) : scheme !== 'never';
  return { replacement, prepend, split: readBoolean(json, 'split', path, true, fail) };
}

export class UnigramTokenizer implements Tokenizer {
  readonly kind = 'unigram';
  readonly #json: HFTokenizerJSON;
  readonly #vocab: Vocabulary;
  readonly #scores: Float64Array;
  readonly #unkScore: number;
  readonly #root: TrieNode = { children: new Map(), id: -1 };
  /** Byte b's <0xXX> piece id, when byte_fallback is on and every byte has one. */
  readonly #byteIds: Int32Array | null;
  readonly #addedIds: ReadonlySet<number>;
  readonly #normalize: Normalize;
  readonly #metaspace: Metaspace;
  readonly #decoder: Metaspace | null;
  readonly #template: TemplateProcessor;
  readonly #cache = new Map<string, readonly number[]>();

  private constructor(json: JsonObject, model: JsonObject, fail: Fail, source: string) {
    const vocab: unknown[] =
      Array.isArray(model.vocab) && model.vocab.length > 0
        ? model.vocab
        : fail(`model.vocab must be a non-empty array of [piece, score], got ${show(model.vocab)}`);
    const tokens: string[] = [];
    this.#scores = new Float64Array(vocab.length);
    vocab.forEach((entry: unknown, id) => {
      if (!Array.isArray(entry) || entry.length !== 2 || typeof entry[0] !== 'string' || typeof entry[1] !== 'number' || !Number.isFinite(entry[1])) {
        fail(`model.vocab[${id}] must be [piece, finite score], got ${show(entry)}`);
      }
      tokens.push((entry as [string, number])[0]);
      this.#scores[id] = (entry as [string, number])[1];
    });
    const unkId = model.unk_id;
    if (typeof unkId !== 'number' || !Number.isInteger(unkId) || unkId < 0 || unkId >= tokens.length) {
      fail(`model.unk_id must be an id of model.vocab (0..${tokens.length - 1}), got ${show(unkId)}`);
    }
    const added = readAddedTokens(json.added_tokens, tokens, fail);
    this.#vocab = new Vocabulary(tokens, source, specialTokensFrom(added, fail, tokens[unkId as number]));
    this.#addedIds = new Set([...added.map((t) => this.#vocab.id(t)!), ...Object.values(this.#vocab.specialTokenIds)]);
    this.#unkScore = this.#scores.reduce((m, s) => Math.min(m, s), Infinity) - UNK_PENALTY;
    tokens.forEach((piece, id) => {
      if (piece === '') fail(`model.vocab[${id}] is an empty piece`);
      let node = this.#root;
      for (const ch of piece) {
        let child = node.children.get(ch);
        if (child === undefined) node.children.set(ch, (child = { children: new Map(), id: -1 }));
        node = child;
      }
      node.id = id;
    });
    this.#byteIds = null;
    if (readBoolean(model, 'byte_fallback', 'model', false, fail)) {
      const byteIds = Int32Array.from({ length: 256 }, (_, b) => this.#vocab.id(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`) ?? -1);
      const missing = byteIds.indexOf(-1);
      if (missing >= 0) fail(`model.byte_fallback is true but model.vocab lacks <0x${missing.toString(16).toUpperCase().padStart(2, '0')}>`);
      this.#byteIds = byteIds;
    }
    this.#normalize = normalizerFromJSON(json.normalizer, 'normalizer', fail);
    if (!isObject(json.pre_tokenizer) || json.pre_tokenizer.type !== 'Metaspace') {
      fail(`pre_tokenizer must be Metaspace for a Unigram model, got ${show(json.pre_tokenizer)}`);
    }
    this.#metaspace = readMetaspace(json.pre_tokenizer as JsonObject, 'pre_tokenizer', fail);
    const decoder = json.decoder;
    if (decoder === null || decoder === undefined) this.#decoder = null;
    else if (isObject(decoder) && decoder.type === 'Metaspace') this.#decoder = readMetaspace(decoder, 'decoder', fail);
    else this.#decoder = fail(`decoder must be Metaspace or null for a Unigram model, got ${show(decoder)}`);
    this.#template = TemplateProcessor.fromJSON(json.post_processor, tokens, fail);
    this.#json = structuredClone(json) as unknown as HFTokenizerJSON;
  }

  /** The tokenizer a tokenizer.json with a Unigram model describes (`model` is json.model). */
  static fromJSON(json: JsonObject, model: JsonObject, fail: Fail, source: string): UnigramTokenizer {
    return new UnigramTokenizer(json, model, fail, source);
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

  /** Normalized, pre-tokenized by Metaspace, each piece of text segmented by Viterbi; no template (see encodeWithSpecialTokens). */
  encode(text: string, options?: EncodeOptions): number[] {
    const ids: number[] = [];
    for (const word of this.#preTokenize(this.#normalize(text))) {
      let wordIds = this.#cache.get(word);
      if (wordIds === undefined) {
        wordIds = this.#segment(word);
        if (this.#cache.size >= ENCODE_CACHE_LIMIT) this.#cache.clear();
        this.#cache.set(word, wordIds);
      }
      for (const id of wordIds) ids.push(id);
    }
    return this.#vocab.frame(ids, options);
  }

  /** `text` (and `pair`) encoded with the post-processor's template (Marian's: text </s>), and type ids. */
  encodeWithSpecialTokens(text: string, pair?: string): EncodedWithSpecialTokens {
    return this.#template.apply(this.encode(text), pair === undefined ? undefined : this.encode(pair));
  }

  /** Spaces replaced, the prefix replacement added, and (split) cut before each replacement; empty text gives nothing. */
  #preTokenize(text: string): string[] {
    if (text === '') return [];
    const { replacement, prepend, split } = this.#metaspace;
    let spaced = text.replaceAll(' ', replacement);
    if (prepend && !spaced.startsWith(replacement)) spaced = replacement + spaced;
    if (!split) return [spaced];
    const words: string[] = [];
    let start = 0;
    for (let i = spaced.indexOf(replacement, 1); i > 0; i = spaced.indexOf(replacement, i + replacement.length)) {
      words.push(spaced.slice(start, i));
      start = i;
    }
    words.push(spaced.slice(start));
    return words;
  }

  /** The highest-scoring segmentation of `text` (first found among equals), unks fused, bytes for unks with byte_fallback. */
  #segment(text: string): number[] {
    const chars = [...text];
    const n = chars.length;
    const best = new Float64Array(n + 1).fill(-Infinity);
    const from = new Int32Array(n + 1);
    const pieceId = new Int32Array(n + 1);
    best[0] = 0;
    const unk = this.#vocab.specialTokenIds.unk;
    for (let start = 0; start < n; start++) {
      const base = best[start]!;
      let single = false;
      let node: TrieNode | undefined = this.#root;
      for (let end = start; end < n; end++) {
        node = node.children.get(chars[end]!);
        if (node === undefined) break;
        if (node.id < 0) continue;
        if (end === start) single = true;
        const score = base + this.#scores[node.id]!;
        if (score > best[end + 1]!) {
          best[end + 1] = score;
          from[end + 1] = start;
          pieceId[end + 1] = node.id;
        }
      }
      if (!single && base + this.#unkScore > best[start + 1]!) {
        best[start + 1] = base + this.#unkScore;
        from[start + 1] = start;
        pieceId[start + 1] = unk;
      }
    }
    // Back from the end: [start, end, id] spans, in reverse.
    const spans: [number, number, number][] = [];
    for (let end = n; end > 0; end = from[end]!) spans.push([from[end]!, end, pieceId[end]!]);
    spans.reverse();
    const ids: number[] = [];
    for (let i = 0; i < spans.length; i++) {
      const [start, , id] = spans[i]!;
      if (id !== unk) {
        ids.push(id);
        continue;
      }
      let end = spans[i]![1];
      while (i + 1 < spans.length && spans[i + 1]![2] === unk) end = spans[++i]![1];
      if (this.#byteIds === null) ids.push(unk);
      else for (const b of utf8Encoder.encode(chars.slice(start, end).join(''))) ids.push(this.#byteIds[b]!);
    }
    return ids;
  }

  /** Pieces joined, byte pieces read as UTF-8, the replacement character back to spaces, the prefix space dropped. */
  decode(ids: readonly number[], options?: DecodeOptions): string {
    const skip = options?.skipSpecialTokens ?? true;
    let text = '';
    let bytes: number[] = [];
    const flush = (): void => {
      if (bytes.length > 0) text += utf8Decoder.decode(Uint8Array.from(bytes));
      bytes = [];
    };
    for (const id of ids) {
      const token = this.#vocab.token(id, 'UnigramTokenizer.decode');
      if (skip && this.#addedIds.has(id)) continue;
      const byte = this.#byteIds === null ? -1 : this.#byteIds.indexOf(id);
      if (byte >= 0) bytes.push(byte);
      else {
        flush();
        text += token;
      }
    }
    flush();
    if (this.#decoder === null) return text;
    const out = text.replaceAll(this.#decoder.replacement, ' ');
    return this.#decoder.prepend && out.startsWith(' ') ? out.slice(1) : out;
  }

  idsToTokens(ids: readonly number[]): string[] {
    return ids.map((id) => this.#vocab.token(id, 'UnigramTokenizer.idsToTokens'));
  }

  tokenToId(token: string): number | undefined {
    return this.#vocab.id(token);
  }

  /** The tokenizer.json it was read from. */
  toJSON(): HFTokenizerJSON {
    return structuredClone(this.#json);
  }
}
