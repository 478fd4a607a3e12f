import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { TokenizerError } from '../errors.js';
import { WordTokenizer, normalizeWordText, splitWords } from './word.js';

// /work/main/packages/core/src/tokenizers -> /work/shared/data (beside the repository root).
const ENG_FRA = fileURLToPath(new URL('../../../../../shared/data/eng-fra.tsv', import.meta.url));

describe('splitWords', () => {
  it('turns French typographic spaces into plain spaces and splits punctuation', () => {
    expect(splitWords('Je suis prêt\u202f!', true)).toEqual(['je', 'suis', 'prêt', '!']);
    expect(splitWords('«\u00a0Oui\u00a0»\u2009; non\u202f?', true)).toEqual(['«', 'oui', '»', ';', 'non', '?']);
    expect(splitWords('Va !', true)).toEqual(['va', '!']);
    expect(splitWords('Attends...', true)).toEqual(['attends', '.', '.', '.']);
  });

  it('removes zero-width spaces and byte-order marks instead of splitting on them', () => {
    expect(normalizeWordText('pr\u200bêt', false)).toBe('prêt');
    expect(splitWords('\ufeffpr\u200bêt', false)).toEqual(['prêt']);
    expect(splitWords('Va\u0085!', true)).toEqual(['va', '!']);
  });

  it('applies NFC, so composed and decomposed accents give the same word', () => {
    expect(splitWords('pre\u0302t', true)).toEqual(['prêt']);
    expect(splitWords('pre\u0302t', true)[0]).toHaveLength(4);
  });

  it('keeps an elision apostrophe with the word before it', () => {
    expect(splitWords("L'homme", true)).toEqual(["l'", 'homme']);
    expect(splitWords('l\u2019eau', true)).toEqual(["l'", 'eau']);
    expect(splitWords("aujourd'hui", true)).toEqual(["aujourd'", 'hui']);
    expect(splitWords("don't", true)).toEqual(["don'", 't']);
    // A quote not followed by a word character is punctuation of its own.
    expect(splitWords("'oui' dit-il", true)).toEqual(["'", 'oui', "'", 'dit', '-', 'il']);
  });

  it('keeps case when lowercase is off', () => {
    expect(splitWords('Tom a 3 chats.', false)).toEqual(['Tom', 'a', '3', 'chats', '.']);
  });
});

describe('WordTokenizer', () => {
  const corpus = ['Va !', 'Cours !', 'Courez !', 'Va-t-en !', 'Je cours.'];

  it('orders words by frequency, ties in string order, after the special tokens', () => {
    const tok = WordTokenizer.fromCorpus(corpus);
    // counts: ! 4; -, cours, va 2 ("Va-t-en" has two hyphens); ., courez, en, je, t 1
    expect(tok.idsToTokens([0, 1, 2, 3, 4, 5, 6, 7, 8])).toEqual([
      '<pad>',
      '<s>',
      '</s>',
      '<unk>',
      '!',
      '-',
      'cours',
      'va',
      '.',
    ]);
    expect(tok.vocabSize).toBe(4 + 9);
    expect(tok.specialTokenIds).toEqual({ pad: 0, bos: 1, eos: 2, unk: 3 });
  });

  it('honours minFreq and maxVocab, mapping dropped words to <unk>', () => {
    const frequent = WordTokenizer.fromCorpus(corpus, { minFreq: 2 });
    expect(frequent.vocabSize).toBe(8);
    expect(frequent.encode('Je cours !')).toEqual([3, 6, 4]);
    const small = WordTokenizer.fromCorpus(corpus, { maxVocab: 7 });
    expect(small.idsToTokens(small.encode('Va, cours !'))).toEqual(['<unk>', '<unk>', 'cours', '!']);
    expect(() => WordTokenizer.fromCorpus(corpus, { maxVocab: 4 })).toThrow(TokenizerError);
    expect(() => WordTokenizer.fromCorpus(corpus, { minFreq: 1.5 })).toThrow(/minFreq/);
  });

  it('decodes by joining tokens with spaces (lossy), dropping special tokens by default', () => {
    const tok = WordTokenizer.fromCorpus(corpus);
    const ids = tok.encode('Je cours\u202f!', { addBos: true, addEos: true });
    expect(ids[0]).toBe(1);
    expect(ids.at(-1)).toBe(2);
    expect(tok.decode(ids)).toBe('je cours !');
    expect(tok.decode(ids, { skipSpecialTokens: false })).toBe('<s> je cours ! </s>');
    expect(tok.decode(tok.encode('Je mange.'))).toBe('je .');
  });

  it('is case-sensitive when built with lowercase off', () => {
    const tok = WordTokenizer.fromCorpus(['Tom est là', 'tom'], { lowercase: false });
    expect(tok.lowercase).toBe(false);
    expect(tok.tokenToId('Tom')).not.toBe(tok.tokenToId('tom'));
    expect(tok.decode(tok.encode('Tom est là'))).toBe('Tom est là');
  });

  describe.skipIf(!existsSync(ENG_FRA))(`on the Tatoeba English-French pairs (needs ${ENG_FRA})`, () => {
    it('builds a French vocabulary free of special spaces that re-splits every line exactly', () => {
      const french = readFileSync(ENG_FRA, 'utf8')
        .split('\n')
        .map((line) => line.split('\t')[1])
        .filter((s): s is string => s !== undefined);
      expect(french.some((s) => s.includes('\u202f'))).toBe(true);
      const tok = WordTokenizer.fromCorpus(french);
      const tokens = tok.idsToTokens(Array.from({ length: tok.vocabSize }, (_, i) => i));
      expect(tokens.filter((t) => /[\s\u200b\u2019]/u.test(t))).toEqual([]);
      expect(tok.idsToTokens(tok.encode(french[0]!))).toEqual(['va', '!']);
      expect(tok.idsToTokens(tok.encode('Je suis prêt\u202f!'))).toEqual(['je', 'suis', 'prêt', '!']);
      const mismatches = french.filter((line) => {
        const ids = tok.encode(line);
        return ids.includes(tok.specialTokenIds.unk) || tok.decode(ids) !== splitWords(line, true).join(' ');
      });
      expect(mismatches).toEqual([]);
    });
  });
});
