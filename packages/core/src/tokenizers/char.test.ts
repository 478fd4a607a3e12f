import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TokenizerError } from '../errors.js';
import { CharTokenizer } from './char.js';

describe('CharTokenizer', () => {
  it('orders the corpus characters by code point after the special tokens', () => {
    // UTF-16 order would put the emoji (D83D DE00) before U+FF01; code-point order puts it last.
    const tok = CharTokenizer.fromCorpus(['b😀a', '\uff01b']);
    expect(tok.idsToTokens([0, 1, 2, 3, 4, 5, 6, 7])).toEqual([
      '<pad>',
      '<s>',
      '</s>',
      '<unk>',
      'a',
      'b',
      '\uff01',
      '😀',
    ]);
    expect(tok.vocabSize).toBe(8);
    expect(tok.specialTokenIds).toEqual({ pad: 0, bos: 1, eos: 2, unk: 3 });
  });

  it('gives an astral character one id and round-trips known text', () => {
    const tok = CharTokenizer.fromCorpus(['héllo 😀 wörld']);
    expect(tok.encode('😀')).toHaveLength(1);
    const text = 'hé😀 wö';
    expect(tok.decode(tok.encode(text))).toBe(text);
  });

  it('maps unknown characters to <unk>, which decode drops unless asked', () => {
    const tok = CharTokenizer.fromCorpus(['ab']);
    const ids = tok.encode('abz');
    expect(ids).toEqual([4, 5, 3]);
    expect(tok.decode(ids)).toBe('ab');
    expect(tok.decode(ids, { skipSpecialTokens: false })).toBe('ab<unk>');
  });

  it('adds bos and eos on request', () => {
    const tok = CharTokenizer.fromCorpus(['ab']);
    expect(tok.encode('ba', { addBos: true, addEos: true })).toEqual([1, 5, 4, 2]);
    expect(tok.encode('ba', { addEos: true })).toEqual([5, 4, 2]);
    expect(tok.decode([1, 5, 4, 2, 0, 0])).toBe('ba');
    expect(tok.decode([1, 5, 4, 2], { skipSpecialTokens: false })).toBe('<s>ba</s>');
  });

  it('treats a literal "<s>" in text as characters', () => {
    const tok = CharTokenizer.fromCorpus(['<s>']);
    expect(tok.encode('<s>')).toEqual([tok.tokenToId('<'), tok.tokenToId('s'), tok.tokenToId('>')]);
  });

  it('keeps an explicit alphabet in the given order and rejects multi-character entries', () => {
    const tok = CharTokenizer.fromAlphabet('cab😀c');
    expect(tok.idsToTokens([4, 5, 6, 7])).toEqual(['c', 'a', 'b', '😀']);
    expect(tok.vocabSize).toBe(8);
    expect(() => CharTokenizer.fromAlphabet(['a', 'bc'])).toThrow(TokenizerError);
    expect(() => CharTokenizer.fromAlphabet(['a', 'bc'])).toThrow(
      'CharTokenizer.fromAlphabet: "bc" is not a single character',
    );
  });

  it('drops characters rarer than minFreq', () => {
    const tok = CharTokenizer.fromCorpus(['aab', 'ac'], { minFreq: 2 });
    expect(tok.vocabSize).toBe(5);
    expect(tok.encode('abc')).toEqual([4, 3, 3]);
    expect(() => CharTokenizer.fromCorpus(['a'], { minFreq: 0 })).toThrow(TokenizerError);
  });

  it('rejects ids outside the vocabulary', () => {
    const tok = CharTokenizer.fromCorpus(['ab']);
    expect(() => tok.decode([4, 6])).toThrow('CharTokenizer.decode: id 6 is not in the vocabulary (ids 0..5)');
    expect(() => tok.idsToTokens([-1])).toThrow(TokenizerError);
  });

  it('round-trips any text built from its corpus characters (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        const tok = CharTokenizer.fromCorpus([text]);
        const ids = tok.encode(text);
        expect(ids).toHaveLength([...text].length);
        expect(tok.decode(ids)).toBe(text);
      }),
    );
  });
});
