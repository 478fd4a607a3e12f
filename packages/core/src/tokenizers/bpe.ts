// Byte-level BPE as in GPT-2 (Radford et al., 2019; Sennrich et al., 2016 for BPE): text is
// split by the GPT-2 regex into words that carry their leading space, each word's UTF-8 bytes
// are written as printable characters (byte b -> one fixed code point, space -> 'Ġ'), and
// learned merges join adjacent symbols, lowest merge rank first. Every byte has a token, so
// there is no <unk> and decode(encode(text)) === text for any well-formed string.
// tokenizer.json form: ByteLevel pre_tokenizer (add_prefix_space false) and decoder, BPE
// model with vocab + merges, as in GPT-2's file, so transformers.js loads it unchanged.

import { TokenizerError } from '../errors.js';
import type { HFTokenizerJSON } from './hf-json.js';
import {
  Vocabulary,
  type DecodeOptions,
  type EncodeOptions,
  type SpecialTokenIds,
  type SpecialTokens,
  type Tokenizer,
} from './tokenizer.js';

/**
 * GPT-2's byte -> character table: printable Latin-1 bytes (! to ~, ¡ to ¬, ® to ÿ) stand
 * for themselves; the other 68 bytes take U+0100, U+0101, ... in byte order.
 */
export const BYTE_TO_CHAR: readonly string[] = (() => {
  const table: string[] = [];
  let next = 0x100;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    table.push(String.fromCodePoint(printable ? b : next++));
  }
  return table;
})();

const CHAR_TO_BYTE: ReadonlyMap<string, number> = new Map(BYTE_TO_CHAR.map((ch, b) => [ch, b]));

/** GPT-2's pre-tokenisation regex (the one the Hugging Face ByteLevel pre_tokenizer uses). */
const PRE_TOKENIZE_REGEX = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

/** A pre-token written in byte-level characters, e.g. " héllo" -> "Ġh" + "Ã©" + "llo". */
function toByteLevel(word: string): string {
  let out = '';
  for (const b of utf8Encoder.encode(word)) out += BYTE_TO_CHAR[b]!;
  return out;
}

/** Pair key for two ids; ids stay below 2^21, so keys stay exact doubles. */
const PAIR_BASE = 2 ** 21;
const pairKey = (a: number, b: number): number => a * PAIR_BASE + b;

/** Array-backed binary heap; `before(x, y)` is true when x must come out first. */
class Heap<T> {
  readonly #items: T[] = [];
  constructor(private readonly before: (x: T, y: T) => boolean) {}

  get size(): number {
    return this.#items.length;
  }

  push(item: T): void {
    const items = this.#items;
    items.push(item);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(items[i]!, items[parent]!)) break;
      [items[i], items[parent]] = [items[parent]!, items[i]!];
      i = parent;
    }
  }

  pop(): T | undefined {
    const items = this.#items;
    const top = items[0];
    const last = items.pop();
    if (items.length === 0 || last === undefined) return top;
    items[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let best = i;
      if (l < items.length && this.before(items[l]!, items[best]!)) best = l;
      if (r < items.length && this.before(items[r]!, items[best]!)) best = r;
      if (best === i) break;
      [items[i], items[best]] = [items[best]!, items[i]!];
      i = best;
    }
    return top;
  }
}

export interface BpeTrainOptions {
  /** Final vocabulary size: 4 special tokens + 256 bytes + merges, so at least 260. */
  vocabSize: number;
  /** Stop when the most frequent pair occurs fewer times than this. Default 2. */
  minFrequency?: number;
}

interface Merge {
  rank: number;
  id: number;
}

const ENCODE_CACHE_LIMIT = 50_000;

export class BpeTokenizer implements Tokenizer {
  readonly kind = 'bpe';
  /** Merges in rank order, as token-string pairs. */
  readonly merges: readonly (readonly [string, string])[];
  readonly #vocab: Vocabulary;
  readonly #byteIds: Int32Array;
  readonly #mergesByPair = new Map<number, Merge>();
  readonly #cache = new Map<string, readonly number[]>();

  /**
   * `tokens[id]` is the byte-level string of id (all 256 byte characters and the special
   * tokens, attend's four unless `specials` names others, must be present); `merges` in rank
   * order, each joining two tokens into a third that is also in `tokens`.
   */
  constructor(
    tokens: readonly string[],
    merges: readonly (readonly [string, string])[],
    source = 'BpeTokenizer',
    specials?: SpecialTokens,
  ) {
    this.#vocab = new Vocabulary(tokens, source, specials);
    if (this.#vocab.size > PAIR_BASE) {
      throw new TokenizerError(
        `${source}: vocabulary of ${this.#vocab.size} tokens exceeds the supported ${PAIR_BASE}`,
      );
    }
    this.#byteIds = new Int32Array(256);
    BYTE_TO_CHAR.forEach((ch, b) => {
      const id = this.#vocab.id(ch);
      if (id === undefined) {
        throw new TokenizerError(
          `${source}: the vocabulary lacks the byte-level token ${JSON.stringify(ch)} for byte 0x${b.toString(16).padStart(2, '0')}`,
        );
      }
      this.#byteIds[b] = id;
    });
    this.merges = merges.map(([left, right], rank) => {
      const a = this.#vocab.id(left);
      const b = this.#vocab.id(right);
      const id = this.#vocab.id(left + right);
      const missing = a === undefined ? left : b === undefined ? right : id === undefined ? left + right : undefined;
      if (a === undefined || b === undefined || id === undefined) {
        throw new TokenizerError(
          `${source}: merge ${rank} (${JSON.stringify(left)} ${JSON.stringify(right)}) needs ${JSON.stringify(missing)}, which is not in the vocabulary`,
        );
      }
      const key = pairKey(a, b);
      if (!this.#mergesByPair.has(key)) this.#mergesByPair.set(key, { rank, id });
      return [left, right] as const;
    });
  }

  /**
   * Learns merges from `texts`: counts pre-token frequencies once, then repeatedly merges the
   * most frequent adjacent pair over the unique words (ties: the pair of smaller ids), updating
   * pair counts only in the words that contain the merged pair.
   */
  static train(texts: Iterable<string>, options: BpeTrainOptions): BpeTokenizer {
    const { vocabSize } = options;
    const minFrequency = options.minFrequency ?? 2;
    if (!Number.isInteger(vocabSize) || vocabSize < 260 || vocabSize > PAIR_BASE) {
      throw new TokenizerError(
        `BpeTokenizer.train: vocabSize must be an integer in [260, ${PAIR_BASE}] (4 special tokens + 256 bytes + merges), got ${vocabSize}`,
      );
    }
    if (!Number.isInteger(minFrequency) || minFrequency < 1) {
      throw new TokenizerError(`BpeTokenizer.train: minFrequency must be an integer >= 1, got ${minFrequency}`);
    }

    // 1. Pre-token frequencies.
    const wordCounts = new Map<string, number>();
    for (const text of texts) {
      for (const match of text.matchAll(PRE_TOKENIZE_REGEX)) {
        wordCounts.set(match[0], (wordCounts.get(match[0]) ?? 0) + 1);
      }
    }

    // 2. Vocabulary: special tokens, then the 256 bytes in byte order.
    const tokens = Vocabulary.withSpecialTokens(BYTE_TO_CHAR);
    const idOf = new Map(tokens.map((t, id) => [t, id]));
    const byteId = (b: number): number => idOf.get(BYTE_TO_CHAR[b]!)!;
    const words: number[][] = [];
    const freqs: number[] = [];
    for (const [word, count] of wordCounts) {
      words.push(Array.from(utf8Encoder.encode(word), byteId));
      freqs.push(count);
    }

    // 3. Pair counts and, per pair, the words it occurs in (may list a word twice or stale).
    const pairCounts = new Map<number, number>();
    const pairWords = new Map<number, number[]>();
    const addPair = (key: number, delta: number): void => {
      const n = (pairCounts.get(key) ?? 0) + delta;
      if (n === 0) pairCounts.delete(key);
      else pairCounts.set(key, n);
    };
    words.forEach((word, w) => {
      for (let i = 0; i + 1 < word.length; i++) {
        const key = pairKey(word[i]!, word[i + 1]!);
        addPair(key, freqs[w]!);
        const list = pairWords.get(key);
        if (list === undefined) pairWords.set(key, [w]);
        else if (list[list.length - 1] !== w) list.push(w);
      }
    });

    // Max-heap of [count, key], lazily updated: an entry whose count is stale is re-pushed.
    const heap = new Heap<readonly [number, number]>(([ca, ka], [cb, kb]) => ca > cb || (ca === cb && ka < kb));
    for (const [key, count] of pairCounts) heap.push([count, key]);

    // 4. Merge loop.
    const merges: [string, string][] = [];
    const seenAt = new Int32Array(words.length).fill(-1);
    while (tokens.length < vocabSize) {
      const top = heap.pop();
      if (top === undefined) break;
      const [stored, key] = top;
      const count = pairCounts.get(key) ?? 0;
      if (count === 0) continue;
      if (count !== stored) {
        heap.push([count, key]);
        continue;
      }
      if (count < minFrequency) break;
      const a = Math.floor(key / PAIR_BASE);
      const b = key % PAIR_BASE;
      // Pre-tokens never mix letters with other characters, so no merge can spell "<s>" etc.
      const merged = tokens[a]! + tokens[b]!;
      let c = idOf.get(merged);
      if (c === undefined) {
        c = tokens.length;
        tokens.push(merged);
        idOf.set(merged, c);
      }
      merges.push([tokens[a]!, tokens[b]!]);

      const touched = new Set<number>();
      for (const w of pairWords.get(key) ?? []) {
        if (seenAt[w] === merges.length) continue;
        seenAt[w] = merges.length;
        const word = words[w]!;
        const f = freqs[w]!;
        let found = false;
        for (let i = 0; i + 1 < word.length; i++) {
          if (word[i] === a && word[i + 1] === b) {
            found = true;
            break;
          }
        }
        if (!found) continue;
        for (let i = 0; i + 1 < word.length; i++) addPair(pairKey(word[i]!, word[i + 1]!), -f);
        const next: number[] = [];
        for (let i = 0; i < word.length; i++) {
          if (i + 1 < word.length && word[i] === a && word[i + 1] === b) {
            next.push(c);
            i++;
          } else {
            next.push(word[i]!);
          }
        }
        for (let i = 0; i + 1 < next.length; i++) {
          const k = pairKey(next[i]!, next[i + 1]!);
          addPair(k, f);
          if (next[i] === c || next[i + 1] === c) {
            touched.add(k);
            const list = pairWords.get(k);
            if (list === undefined) pairWords.set(k, [w]);
            else if (list[list.length - 1] !== w) list.push(w);
          }
        }
        words[w] = next;
      }
      pairWords.delete(key);
      for (const k of touched) {
        const n = pairCounts.get(k);
        if (n !== undefined) heap.push([n, k]);
      }
    }
    return new BpeTokenizer(tokens, merges);
  }

  get vocabSize(): number {
    return this.#vocab.size;
  }

  get specialTokenIds(): SpecialTokenIds {
    return this.#vocab.specialTokenIds;
  }

  encode(text: string, options?: EncodeOptions): number[] {
    const ids: number[] = [];
    for (const match of text.matchAll(PRE_TOKENIZE_REGEX)) {
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

  /**
   * Applies merges to one pre-token: lowest rank first, leftmost first among equal ranks, over
   * a linked list of symbols with a heap of candidate pairs (O(n log n) in the word length).
   */
  #encodeWord(word: string): number[] {
    const bytes = utf8Encoder.encode(word);
    const n = bytes.length;
    const ids = Array.from(bytes, (b) => this.#byteIds[b]!);
    const next = Int32Array.from({ length: n }, (_, i) => (i + 1 < n ? i + 1 : -1));
    const prev = Int32Array.from({ length: n }, (_, i) => i - 1);
    const alive = new Uint8Array(n).fill(1);
    // Candidate: [rank, left position, left id, right id].
    type Candidate = readonly [number, number, number, number];
    const heap = new Heap<Candidate>(([ra, pa], [rb, pb]) => ra < rb || (ra === rb && pa < pb));
    const offer = (pos: number): void => {
      if (pos < 0) return;
      const right = next[pos]!;
      if (right < 0) return;
      const merge = this.#mergesByPair.get(pairKey(ids[pos]!, ids[right]!));
      if (merge !== undefined) heap.push([merge.rank, pos, ids[pos]!, ids[right]!]);
    };
    for (let i = 0; i + 1 < n; i++) offer(i);
    for (let top = heap.pop(); top !== undefined; top = heap.pop()) {
      const [, pos, a, b] = top;
      const right = next[pos]!;
      if (!alive[pos] || right < 0 || ids[pos] !== a || ids[right] !== b) continue; // stale
      ids[pos] = this.#mergesByPair.get(pairKey(a, b))!.id;
      alive[right] = 0;
      const after = next[right]!;
      next[pos] = after;
      if (after >= 0) prev[after] = pos;
      offer(prev[pos]!);
      offer(pos);
    }
    const out: number[] = [];
    for (let i = 0; i >= 0 && i < n; i = next[i]!) out.push(ids[i]!);
    return out;
  }

  /** Bytes of the tokens, read as UTF-8 (a cut multi-byte character shows as U+FFFD). */
  decode(ids: readonly number[], options?: DecodeOptions): string {
    const skip = options?.skipSpecialTokens ?? true;
    const bytes: number[] = [];
    for (const id of ids) {
      const token = this.#vocab.token(id, 'BpeTokenizer.decode');
      if (this.#vocab.isSpecial(id)) {
        if (!skip) for (const b of utf8Encoder.encode(token)) bytes.push(b);
        continue;
      }
      for (const ch of token) {
        const b = CHAR_TO_BYTE.get(ch);
        if (b === undefined) {
          throw new TokenizerError(
            `BpeTokenizer.decode: token ${JSON.stringify(token)} (id ${id}) has a character that is not a byte-level symbol`,
          );
        }
        bytes.push(b);
      }
    }
    return utf8Decoder.decode(Uint8Array.from(bytes));
  }

  idsToTokens(ids: readonly number[]): string[] {
    return ids.map((id) => this.#vocab.token(id, 'BpeTokenizer.idsToTokens'));
  }

  tokenToId(token: string): number | undefined {
    return this.#vocab.id(token);
  }

  toJSON(): HFTokenizerJSON {
    const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true } as const;
    return {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: this.#vocab.addedTokensJSON(),
      normalizer: null,
      pre_tokenizer: { ...byteLevel },
      post_processor: null,
      decoder: { ...byteLevel },
      model: {
        type: 'BPE',
        dropout: null,
        unk_token: null,
        continuing_subword_prefix: null,
        end_of_word_suffix: null,
        fuse_unk: false,
        byte_fallback: false,
        vocab: this.#vocab.vocabJSON(),
        merges: this.merges.map(([a, b]) => `${a} ${b}`),
      },
    };
  }
}
