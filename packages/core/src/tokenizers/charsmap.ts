// SentencePiece's precompiled character map (the `precompiled_charsmap` of a tokenizer.json's
// Precompiled normalizer, base64): a little-endian uint32 byte length of a double-array trie,
// the trie's uint32 units (darts-clone layout: a unit holds a label byte, a has-leaf bit and an
// offset to its children, or, in a leaf, the value), then a pool of NUL-terminated replacement
// strings; a key is a UTF-8 byte string and its value the pool offset of its replacement.
// Applied as the Hugging Face tokenizers library applies it: text is cut into grapheme clusters;
// a cluster of under 6 UTF-8 bytes whose bytes start with a key is replaced whole by the
// shortest such key's replacement; otherwise each code point is replaced by its own key's
// replacement, or kept.

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

/** A precompiled charsmap, read from its bytes; `normalize` applies it. */
export class Charsmap {
  readonly #units: Uint32Array;
  readonly #pool: Uint8Array;
  readonly #replacements = new Map<number, string>();
  readonly #graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

  private constructor(units: Uint32Array, pool: Uint8Array) {
    this.#units = units;
    this.#pool = pool;
  }

  /** The charsmap in `bytes`, or a description of what is wrong with them. */
  static fromBytes(bytes: Uint8Array): Charsmap | string {
    if (bytes.length < 4) return `${bytes.length} bytes, fewer than the 4 of its trie size`;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const trieSize = view.getUint32(0, true);
    if (trieSize === 0 || trieSize % 4 !== 0 || 4 + trieSize > bytes.length) {
      return `its trie size ${trieSize} is not a positive multiple of 4 within its ${bytes.length} bytes`;
    }
    const units = new Uint32Array(trieSize / 4);
    for (let i = 0; i < units.length; i++) units[i] = view.getUint32(4 + 4 * i, true);
    return new Charsmap(units, bytes.subarray(4 + trieSize));
  }

  /**
   * The replacement of the shortest key that `bytes` starts with, or undefined when none does
   * (darts-clone's common-prefix search, stopped at its first result).
   */
  #firstMatch(bytes: Uint8Array): string | undefined {
    const units = this.#units;
    let pos = offsetOf(units[0]!);
    for (const byte of bytes) {
      pos ^= byte;
      const unit = units[pos];
      if (unit === undefined || (unit & 0x800000ff) !== byte) return undefined;
      pos ^= offsetOf(unit);
      if ((unit >>> 8) & 1) {
        const leaf = units[pos];
        return leaf === undefined ? undefined : this.#replacement(leaf & 0x7fffffff);
      }
    }
    return undefined;
  }

  /** The NUL-terminated pool string at `offset` (undefined past the pool). */
  #replacement(offset: number): string | undefined {
    if (offset >= this.#pool.length) return undefined;
    let text = this.#replacements.get(offset);
    if (text === undefined) {
      let end = this.#pool.indexOf(0, offset);
      if (end < 0) end = this.#pool.length;
      text = utf8Decoder.decode(this.#pool.subarray(offset, end));
      this.#replacements.set(offset, text);
    }
    return text;
  }

  /** `text` with the map applied cluster by cluster (see the header). */
  normalize(text: string): string {
    let out = '';
    for (const { segment } of this.#graphemes.segment(text)) {
      const bytes = utf8Encoder.encode(segment);
      const whole = bytes.length < 6 ? this.#firstMatch(bytes) : undefined;
      if (whole !== undefined) {
        out += whole;
        continue;
      }
      for (const ch of segment) out += this.#firstMatch(utf8Encoder.encode(ch)) ?? ch;
    }
    return out;
  }
}

/** A unit's child offset: 22 bits, shifted by 8 when bit 9 is set. */
const offsetOf = (unit: number): number => (unit >>> 10) << ((unit & 0x200) >>> 6);
