import { describe, expect, it } from 'vitest';
import { buildCharsmap } from '../test-utils/hf-tokenizers.js';
import { Charsmap } from './charsmap.js';

const charsmap = (rules: [string, string][]): Charsmap => {
  const map = Charsmap.fromBytes(buildCharsmap(rules));
  if (typeof map === 'string') throw new Error(map);
  return map;
};

describe('SentencePiece precompiled charsmap', () => {
  it('replaces each key by its replacement and keeps what no key starts', () => {
    const map = charsmap([['Ａ', 'A'], ['ﬁ', 'fi'], ['\u00a0', ' '], ['\u0007', '']]);
    expect(map.normalize('Ａ\u00a0ﬁx\u0007y')).toBe('A fixy');
    expect(map.normalize('plain text, 東京 ☕')).toBe('plain text, 東京 ☕');
    expect(map.normalize('')).toBe('');
  });

  it('replaces a short grapheme cluster whole, by the shortest key it starts with (as the Hugging Face library does)', () => {
    const map = charsmap([['e\u0301', 'é'], ['Ａ', 'A'], ['Ａ\u0301', 'Á']]);
    expect(map.normalize('e\u0301')).toBe('é');
    expect(map.normalize('Ａ\u0301')).toBe('A'); // the cluster's shortest key wins and the mark goes with it
  });

  it('goes code point by code point through a cluster of 6 UTF-8 bytes or more', () => {
    const map = charsmap([['Ａ', 'A'], ['\u0301', '´']]);
    expect(map.normalize('Ａ\u0301\u0301')).toBe('A´´'); // 3 + 2 + 2 bytes
    expect(map.normalize('Ａ\u0301')).toBe('A'); // 5 bytes: whole cluster
  });

  it('says what is wrong with bytes that are not a charsmap', () => {
    expect(Charsmap.fromBytes(new Uint8Array([1, 0]))).toBe('2 bytes, fewer than the 4 of its trie size');
    expect(Charsmap.fromBytes(new Uint8Array([8, 0, 0, 0, 0, 0]))).toBe('its trie size 8 is not a positive multiple of 4 within its 6 bytes');
  });
});
