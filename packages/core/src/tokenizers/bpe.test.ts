import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TokenizerError } from '../errors.js';
import { createRng } from '../random.js';
import { BYTE_TO_CHAR, BpeTokenizer } from './bpe.js';
import { Vocabulary } from './tokenizer.js';

const GPT2_SPLIT = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/** The textbook BPE loop: merge every occurrence of the lowest-ranked adjacent pair, repeat. */
function referenceTokens(text: string, merges: readonly (readonly [string, string])[]): string[] {
  const rank = new Map(merges.map(([a, b], i) => [`${a} ${b}`, i]));
  const out: string[] = [];
  for (const [word] of text.matchAll(GPT2_SPLIT)) {
    let symbols = Array.from(new TextEncoder().encode(word), (b) => BYTE_TO_CHAR[b]!);
    for (;;) {
      let best: [string, string] | undefined;
      let bestRank = Infinity;
      for (let i = 0; i + 1 < symbols.length; i++) {
        const r = rank.get(`${symbols[i]} ${symbols[i + 1]}`);
        if (r !== undefined && r < bestRank) [best, bestRank] = [[symbols[i]!, symbols[i + 1]!], r];
      }
      if (best === undefined) break;
      const next: string[] = [];
      for (let i = 0; i < symbols.length; i++) {
        if (i + 1 < symbols.length && symbols[i] === best[0] && symbols[i + 1] === best[1]) {
          next.push(best[0] + best[1]);
          i++;
        } else next.push(symbols[i]!);
      }
      symbols = next;
    }
    out.push(...symbols);
  }
  return out;
}

function randomCorpus(seed: number, alphabet: readonly string[], words: number, lexiconSize = 300): string {
  const rng = createRng(seed);
  const lexicon = Array.from({ length: lexiconSize }, () =>
    Array.from({ length: 1 + rng.int(7) }, () => rng.pick(alphabet)).join(''),
  );
  // Zipf-like: low lexicon indices are much more frequent.
  return Array.from({ length: words }, () => lexicon[Math.floor(lexicon.length * rng.next() ** 3)]!).join(' ');
}

describe('GPT-2 byte table', () => {
  it('maps printable bytes to themselves and the rest to U+0100 onwards', () => {
    expect(BYTE_TO_CHAR).toHaveLength(256);
    expect(new Set(BYTE_TO_CHAR).size).toBe(256);
    expect(BYTE_TO_CHAR[0x41]).toBe('A');
    expect(BYTE_TO_CHAR[0xe9]).toBe('é');
    expect(BYTE_TO_CHAR[0x00]).toBe('\u0100');
    expect(BYTE_TO_CHAR[0x20]).toBe('Ġ'); // U+0120
    expect(BYTE_TO_CHAR[0x0a]).toBe('Ċ'); // U+010A
    expect(BYTE_TO_CHAR[0x7f]).toBe('\u0121');
    expect(BYTE_TO_CHAR[0xad]).toBe('\u0143'); // the last one
  });
});

describe('BpeTokenizer.train', () => {
  it('merges the most frequent pair first, ties going to the smaller ids', () => {
    // Pre-tokens: "hug", " hug" x2, " pug", " pun", " bun".
    // Pairs: u g 4, h u 3, then 2 each; after "u g": h ug 3; after "h ug": Ġ hug, Ġ p and
    // u n have 2 each, and Ġ p has the smallest ids (Ġ = 4 + 0x20, p = 4 + 0x70 < hug = 261).
    const tok = BpeTokenizer.train(['hug hug hug pug pun bun'], { vocabSize: 263 });
    expect(tok.merges).toEqual([
      ['u', 'g'],
      ['h', 'ug'],
      ['Ġ', 'p'],
    ]);
    expect(tok.idsToTokens([260, 261, 262])).toEqual(['ug', 'hug', 'Ġp']);
    expect(tok.idsToTokens(tok.encode('hug pug bun'))).toEqual(['hug', 'Ġp', 'ug', 'Ġ', 'b', 'u', 'n']);
  });

  it('lays out special tokens, then the 256 bytes in byte order, then merges', () => {
    const tok = BpeTokenizer.train(['aaaa'], { vocabSize: 300, minFrequency: 1 });
    expect(tok.specialTokenIds).toEqual({ pad: 0, bos: 1, eos: 2, unk: 3 });
    expect(tok.tokenToId('\u0100')).toBe(4);
    expect(tok.tokenToId('Ġ')).toBe(4 + 0x20);
    expect(tok.tokenToId('ÿ')).toBe(259);
    // "aaaa": a a (counted 3 times: overlapping positions count) -> "aa aa" -> "aaaa", then no pair is left.
    expect(tok.merges).toEqual([
      ['a', 'a'],
      ['aa', 'aa'],
    ]);
    expect(tok.vocabSize).toBe(262);
  });

  it('stops at minFrequency', () => {
    const corpus = 'ab ab ab cd';
    expect(BpeTokenizer.train([corpus], { vocabSize: 1000 }).merges).toEqual([
      ['a', 'b'],
      ['Ġ', 'ab'],
    ]);
    // With every pair allowed, " cd" goes Ġ c (smaller ids than c d) then Ġc d.
    expect(BpeTokenizer.train([corpus], { vocabSize: 1000, minFrequency: 1 }).merges).toEqual([
      ['a', 'b'],
      ['Ġ', 'ab'],
      ['Ġ', 'c'],
      ['Ġc', 'd'],
    ]);
  });

  it('rejects bad options', () => {
    expect(() => BpeTokenizer.train(['x'], { vocabSize: 259 })).toThrow(/^BpeTokenizer.train: vocabSize must be/);
    expect(() => BpeTokenizer.train(['x'], { vocabSize: 300, minFrequency: 0 })).toThrow(TokenizerError);
  });

  it('trains 1000 merges on 1 MB of text in a few seconds', () => {
    const alphabet = [...'abcdefghijklmnopqrstuvwxyzéèàç'];
    const text = randomCorpus(1, alphabet, 200_000, 5_000);
    expect(text.length).toBeGreaterThan(1_000_000);
    const start = performance.now();
    const tok = BpeTokenizer.train(text.match(/[^]{1,1000}/gu)!, { vocabSize: 1260 });
    expect(performance.now() - start).toBeLessThan(10_000);
    expect(tok.vocabSize).toBe(1260);
    const sample = text.slice(0, 20_000);
    expect(tok.encode(sample).length).toBeLessThan(sample.length / 2);
  });
});

describe('BpeTokenizer.encode/decode', () => {
  const alphabet = ['a', 'b', 'é', '😀', ' ', "'", 's', '1', '\n'];
  const tok = BpeTokenizer.train([randomCorpus(7, alphabet, 5_000)], { vocabSize: 400 });

  it('learned some merges across multi-byte characters', () => {
    expect(tok.merges.length).toBeGreaterThan(50);
    expect(tok.tokenToId(BYTE_TO_CHAR[0xc3]! + BYTE_TO_CHAR[0xa9]!)).toBeDefined(); // "é" = C3 A9
  });

  it('matches the textbook BPE loop (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...alphabet), maxLength: 60 }), (text) => {
        expect(tok.idsToTokens(tok.encode(text))).toEqual(referenceTokens(text, tok.merges));
      }),
    );
  });

  it('round-trips any well-formed string exactly (property)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' })), (text) => {
        expect(tok.decode(tok.encode(text))).toBe(text);
      }),
      { numRuns: 300 },
    );
  });

  it('round-trips a leading byte-order mark, control characters and literal special-token text', () => {
    for (const text of ['\ufeffa', '\u0000\u007f\u00ad', '<s>x</s> <pad>', '  two  spaces \n\n']) {
      expect(tok.decode(tok.encode(text))).toBe(text);
    }
  });

  it('encodes a 400 000-byte word in time that grows about linearly, with the textbook loop\'s tokens', () => {
    const base = Vocabulary.withSpecialTokens(BYTE_TO_CHAR);
    const merges = [
      ['a', 'b'],
      ['ab', 'ab'],
      ['b', 'a'],
    ] as const;
    const abab = new BpeTokenizer([...base, 'ab', 'abab', 'ba'], merges);
    expect(abab.idsToTokens(abab.encode('ababa'))).toEqual(referenceTokens('ababa', merges));
    expect(abab.idsToTokens(abab.encode('b'.repeat(7) + 'ab'.repeat(5)))).toEqual(
      referenceTokens('b'.repeat(7) + 'ab'.repeat(5), merges),
    );
    // A ratio of two runs in one process, not a time limit: a quadratic merge loop takes 100×
    // as long on 10× the bytes, whatever the machine; the heap-based one about 12×. CPU time of
    // this process (its own fork), not wall time, so that other work on the machine does not count.
    const time = (text: string): { ms: number; ids: number[] } => {
      const start = process.cpuUsage();
      const ids = abab.encode(text);
      const used = process.cpuUsage(start);
      return { ms: (used.user + used.system) / 1000, ids };
    };
    // Distinct words each time (encodings may be cached per word); the first one warms up the JIT.
    // Each side the fastest of three runs, and the small side tens of kB, so that neither a
    // sub-millisecond timer reading nor one garbage collection decides the ratio.
    time('ab'.repeat(20_001));
    const small = Math.min(...[20_002, 20_003, 20_004].map((n) => time('ab'.repeat(n)).ms));
    const large = [200_001, 200_002].map((n) => time('ab'.repeat(n)).ms);
    const run = 'ab'.repeat(200_000);
    const { ms, ids } = time(run);
    expect(Math.min(ms, ...large) / Math.max(small, 0.05)).toBeLessThan(40);
    expect(ids).toEqual(new Array<number>(100_000).fill(abab.tokenToId('abab')!));
    expect(abab.decode(ids)).toBe(run);
  }, 120_000); // under a load of 25 on 2 cores it took over 30 s

  it('adds and skips special tokens', () => {
    const ids = tok.encode('ab', { addBos: true, addEos: true });
    expect(ids[0]).toBe(1);
    expect(ids.at(-1)).toBe(2);
    expect(tok.decode(ids)).toBe('ab');
    expect(tok.decode(ids, { skipSpecialTokens: false })).toBe('<s>ab</s>');
  });

  it('shows a cut multi-byte character as U+FFFD', () => {
    const firstByte = tok.tokenToId(BYTE_TO_CHAR[0xc3]!)!;
    expect(tok.decode([firstByte])).toBe('\ufffd');
  });

  it('rejects ids outside the vocabulary', () => {
    const n = tok.vocabSize;
    expect(() => tok.decode([n])).toThrow(`BpeTokenizer.decode: id ${n} is not in the vocabulary (ids 0..${n - 1})`);
  });
});

describe('new BpeTokenizer', () => {
  const base = Vocabulary.withSpecialTokens(BYTE_TO_CHAR);

  it('needs every byte-level character', () => {
    expect(
      () =>
        new BpeTokenizer(
          base.filter((t) => t !== 'Ġ'),
          [],
          'x.json',
        ),
    ).toThrow('x.json: the vocabulary lacks the byte-level token "Ġ" for byte 0x20');
  });

  it('needs both sides and the result of every merge', () => {
    expect(() => new BpeTokenizer(base, [['a', 'b']], 'x.json')).toThrow(
      'x.json: merge 0 ("a" "b") needs "ab", which is not in the vocabulary',
    );
    expect(() => new BpeTokenizer([...base, 'ab'], [['a', 'bc']], 'x.json')).toThrow(/needs "bc"/);
  });

  it('applies hand-written merges by rank, not by vocabulary order', () => {
    const tok = new BpeTokenizer(
      [...base, 'bc', 'ab'],
      [
        ['b', 'c'],
        ['a', 'b'],
      ],
    );
    expect(tok.idsToTokens(tok.encode('abc'))).toEqual(['a', 'bc']);
    const swapped = new BpeTokenizer(
      [...base, 'bc', 'ab'],
      [
        ['a', 'b'],
        ['b', 'c'],
      ],
    );
    expect(swapped.idsToTokens(swapped.encode('abc'))).toEqual(['ab', 'c']);
  });
});
