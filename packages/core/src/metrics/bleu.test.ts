import { describe, expect, it } from 'vitest';
import { DataError, ShapeError } from '../errors.js';
import { addBleuStatistics, bleuFromStatistics, bleuStatistics, corpusBleu, tokenize13a } from './bleu.js';

const close = (actual: number, expected: number, tol = 1e-9): void => {
  expect(Math.abs(actual - expected)).toBeLessThan(tol);
};

describe('corpusBleu worked examples', () => {
  it('two-sentence corpus, counts summed before dividing', () => {
    // Sentence 1: hyp "the cat sat on the mat" (6 words), ref "the cat is on the mat" (6).
    //   1-grams: the×2 (ref has 2 → 2), cat 1, sat 0, on 1, mat 1          → 5 / 6
    //   2-grams: the cat ✓, cat sat ✗, sat on ✗, on the ✓, the mat ✓       → 3 / 5
    //   3-grams: the cat sat ✗, cat sat on ✗, sat on the ✗, on the mat ✓   → 1 / 4
    //   4-grams: the cat sat on ✗, cat sat on the ✗, sat on the mat ✗      → 0 / 3
    // Sentence 2: hyp "we love green apples" (4), ref "we love green apples a lot" (6).
    //   every n-gram of the hypothesis is in the reference: 4/4, 3/3, 2/2, 1/1.
    // Corpus: counts = [9, 6, 3, 1], totals = [10, 8, 6, 4]
    //   precisions = 90%, 75%, 50%, 25%
    // c = 6 + 4 = 10, r = 6 + 6 = 12 → BP = exp(1 − 12/10) = exp(−0.2)
    // BLEU = 100 · exp(−0.2) · (0.9 · 0.75 · 0.5 · 0.25)^(1/4) = 100 · 0.81873… · 0.084375^(1/4)
    //      ≈ 44.1259989257
    const result = corpusBleu(
      ['the cat sat on the mat', 'we love green apples'],
      ['the cat is on the mat', 'we love green apples a lot'],
      { tokenize: 'none' },
    );
    expect(result.counts).toEqual([9, 6, 3, 1]);
    expect(result.totals).toEqual([10, 8, 6, 4]);
    expect(result.hypLength).toBe(10);
    expect(result.refLength).toBe(12);
    close(result.precisions[0]!, 90);
    close(result.precisions[1]!, 75);
    close(result.precisions[2]!, 50);
    close(result.precisions[3]!, 25);
    close(result.brevityPenalty, Math.exp(-0.2));
    close(result.score, 100 * Math.exp(-0.2) * Math.pow(0.9 * 0.75 * 0.5 * 0.25, 0.25));
    close(result.score, 44.1259989257, 1e-8);
  });

  it('a perfect match scores 100', () => {
    const sentences = ['Hello, world!', 'The quick brown fox jumps over the lazy dog.', 'It costs $3.50 (tax incl.)'];
    const result = corpusBleu(sentences, sentences);
    close(result.score, 100);
    expect(result.precisions.map((p) => Math.round(p * 1e9) / 1e9)).toEqual([100, 100, 100, 100]);
    expect(result.brevityPenalty).toBe(1);
  });

  it('no matching 4-gram gives 0 without smoothing', () => {
    // "a b c d e" vs "a b c x d e": 1-grams 5/5, 2-grams 3/4, 3-grams 1/3, 4-grams 0/2.
    const result = corpusBleu(['a b c d e'], ['a b c x d e'], { tokenize: 'none' });
    expect(result.counts).toEqual([5, 3, 1, 0]);
    expect(result.totals).toEqual([5, 4, 3, 2]);
    expect(result.score).toBe(0);
    // Precisions are still reported.
    close(result.precisions[1]!, 75);
    close(result.precisions[2]!, 100 / 3);
  });

  it('hypotheses shorter than four words give 0 (no 4-grams at all)', () => {
    const result = corpusBleu(['a b c'], ['a b c'], { tokenize: 'none' });
    expect(result.totals).toEqual([3, 2, 1, 0]);
    expect(result.score).toBe(0);
  });

  it('brevity penalty exp(1 − r/c) when the hypothesis is short', () => {
    // hyp "the cat sat on" (c = 4) is a prefix of "the cat sat on the mat" (r = 6):
    // precisions 4/4, 3/3, 2/2, 1/1 = 100% each; BP = exp(1 − 6/4) = exp(−0.5)
    // BLEU = 100 · exp(−0.5) ≈ 60.6530659713
    const result = corpusBleu(['the cat sat on'], ['the cat sat on the mat'], { tokenize: 'none' });
    close(result.brevityPenalty, Math.exp(-0.5));
    close(result.score, 100 * Math.exp(-0.5));
    close(result.score, 60.6530659713, 1e-8);
    // Longer hypotheses are not rewarded: BP = 1 (the precisions pay instead).
    expect(corpusBleu(['the cat sat on the mat'], ['the cat sat on'], { tokenize: 'none' }).brevityPenalty).toBe(1);
  });

  it('multi-reference clipping uses the maximum count in any one reference', () => {
    // Papineni et al. §2.1: "the the the the the the the" against two references.
    // "the" occurs twice in ref 1 and once in ref 2 → clipped count 2 (not 3), 2/7.
    const result = corpusBleu(
      ['the the the the the the the'],
      [['the cat is on the mat', 'there is a cat on the mat']],
      { tokenize: 'none' },
    );
    expect(result.counts[0]).toBe(2);
    expect(result.totals[0]).toBe(7);
    close(result.precisions[0]!, 200 / 7);
    expect(result.score).toBe(0);
    // Matches from different references are not added up: "the" is once in each → 1, not 2.
    expect(corpusBleu(['the the the'], [['the cat', 'the dog']], { tokenize: 'none' }).counts[0]).toBe(1);
  });

  it('multi-reference: an n-gram may match in any reference', () => {
    // hyp "a b c d e f" (6). ref 1 "a b c d" (4), ref 2 "c d e f" (4).
    //   1-grams: all 6 occur in some reference                      → 6/6
    //   2-grams: ab bc cd (ref 1), de ef (ref 2)                     → 5/5
    //   3-grams: abc bcd (ref 1), cde def (ref 2)                    → 4/4
    //   4-grams: abcd (ref 1), cdef (ref 2); bcde in neither         → 2/3
    // Closest reference length: both are 4 → r = 4 < c = 6, BP = 1.
    // BLEU = 100 · (1 · 1 · 1 · 2/3)^(1/4)
    const result = corpusBleu(['a b c d e f'], [['a b c d', 'c d e f']], { tokenize: 'none' });
    expect(result.counts).toEqual([6, 5, 4, 2]);
    expect(result.totals).toEqual([6, 5, 4, 3]);
    expect(result.refLength).toBe(4);
    close(result.score, 100 * Math.pow(2 / 3, 0.25));
  });

  it('closest reference length, ties broken toward the shorter', () => {
    // c = 5; references of 3 and 8 words: |3 − 5| = 2 < |8 − 5| = 3 → r = 3.
    expect(corpusBleu(['a b c d e'], [['a b c', 'a b c d e f g h']], { tokenize: 'none' }).refLength).toBe(3);
    // c = 4; references of 2 and 6 words: both 2 away → the shorter, r = 2.
    expect(corpusBleu(['a b c d'], [['a b', 'a b c d e f']], { tokenize: 'none' }).refLength).toBe(2);
    // c = 4; references of 3 and 5 words: tie → r = 3, so BP = 1.
    expect(corpusBleu(['a b c d'], [['a b c', 'a b c d e']], { tokenize: 'none' }).brevityPenalty).toBe(1);
  });

  it('13a tokenisation changes the counts', () => {
    // hyp → "Hello , world !" (4 tokens), ref "Hello world!" → "Hello world !" (3 tokens).
    //   1-grams: Hello ✓ , ✗ world ✓ ! ✓ → 3/4; 2-grams: "world !" only → 1/3; 3-grams 0/2; 4-grams 0/1.
    const result = corpusBleu(['Hello, world!'], ['Hello world!']);
    expect(result.counts).toEqual([3, 1, 0, 0]);
    expect(result.totals).toEqual([4, 3, 2, 1]);
    expect(result.hypLength).toBe(4);
    expect(result.refLength).toBe(3);
    expect(result.score).toBe(0);
    // Without tokenisation "Hello," and "world!" are single words: 2 hyp words, 1/2 unigrams match.
    expect(corpusBleu(['Hello, world!'], ['Hello world!'], { tokenize: 'none' }).counts[0]).toBe(1);
  });

  it('lowercase folds case before counting', () => {
    expect(corpusBleu(['The Cat sat on'], ['the cat sat on'], { tokenize: 'none' }).counts[0]).toBe(2);
    close(corpusBleu(['The Cat sat on'], ['the cat sat on'], { tokenize: 'none', lowercase: true }).score, 100);
  });

  it('smoothing: exp and floor', () => {
    // hyp "the cat sat on" vs ref "the cat is on" (c = r = 4, BP = 1):
    //   counts [3, 1, 0, 0], totals [4, 3, 2, 1].
    // exp: zero precisions become 100 / (2^k · total): 3-grams 100/(2·2) = 25, 4-grams 100/(4·1) = 25.
    //   BLEU = (75 · 33.33… · 25 · 25)^(1/4)
    const exp = corpusBleu(['the cat sat on'], ['the cat is on'], { tokenize: 'none', smooth: 'exp' });
    expect(exp.counts).toEqual([3, 1, 0, 0]);
    close(exp.precisions[2]!, 25);
    close(exp.precisions[3]!, 25);
    close(exp.score, Math.pow(75 * (100 / 3) * 25 * 25, 0.25));
    // floor (0.1): 3-grams 100 · 0.1/2 = 5, 4-grams 100 · 0.1/1 = 10.
    const floor = corpusBleu(['the cat sat on'], ['the cat is on'], { tokenize: 'none', smooth: 'floor' });
    close(floor.precisions[2]!, 5);
    close(floor.precisions[3]!, 10);
    close(floor.score, Math.pow(75 * (100 / 3) * 5 * 10, 0.25));
    // The default is no smoothing.
    expect(corpusBleu(['the cat sat on'], ['the cat is on'], { tokenize: 'none' }).score).toBe(0);
  });

  it('maxOrder 2 (BLEU-2): brevity penalty times the geometric mean of the 1- and 2-gram precisions, weights 1/2 (Papineni et al. 2002, eq. 1)', () => {
    // Two captions, computed by hand over the corpus:
    //   "three one" vs "three one four": unigrams 2/2, bigrams 1/1; c 2, r 3.
    //   "five five" vs "five two": unigrams clipped to 1 of 2, bigrams 0/1; c 2, r 2.
    //   p1 = 3/4, p2 = 1/2, c = 4 < r = 5: BP = exp(1 − 5/4).
    const hyps = ['three one', 'five five'];
    const refs = ['three one four', 'five two'];
    const two = corpusBleu(hyps, refs, { maxOrder: 2 });
    expect(two.precisions).toEqual([75, 50]);
    close(two.brevityPenalty, Math.exp(1 - 5 / 4));
    close(two.score, 100 * Math.exp(1 - 5 / 4) * Math.sqrt(0.75 * 0.5));
    // No 3- or 4-gram matches: BLEU-4 is 0 on the same corpus, and its sums are the same.
    expect(corpusBleu(hyps, refs).score).toBe(0);
    expect(two.counts).toEqual([3, 1, 0, 0]);
    // maxOrder 1: the unigram precision alone.
    close(corpusBleu(hyps, refs, { maxOrder: 1 }).score, 100 * Math.exp(1 - 5 / 4) * 0.75);
    // No bigram in the corpus at all (one-word captions): 0, as BLEU-4 without 4-grams.
    expect(corpusBleu(['three'], ['three'], { maxOrder: 2 }).score).toBe(0);
    for (const bad of [0, 5, 2.5]) expect(() => corpusBleu(hyps, refs, { maxOrder: bad })).toThrow(`corpusBleu: maxOrder must be an integer 1 … 4, got ${bad}`);
  });

  it('validates its inputs', () => {
    expect(() => corpusBleu(['a'], ['a', 'b'])).toThrow(ShapeError);
    expect(() => corpusBleu([], [])).toThrow(DataError);
    expect(() => corpusBleu(['a'], [[]])).toThrow(/hypothesis 0 has no reference/);
    expect(() => corpusBleu(['a'], ['a'], { tokenize: 'intl' as never })).toThrow(/tokenize must be/);
  });
});

describe('tokenize13a', () => {
  it.each([
    ['Hello, world!', 'Hello , world !'],
    ['3.14 and 1,000.', '3.14 and 1,000 .'],
    // Period/comma split unless between digits: ".5" has no digit before the period.
    ['.5 and 5. and 5,a', '. 5 and 5 . and 5 , a'],
    ['e.g. U.S.A.', 'e . g . U . S . A .'],
    ['$5.00, 50%', '$ 5.00 , 50 %'],
    // Apostrophes and in-word hyphens stay; a dash after a digit is split.
    ["It's well-known: 5-4 (final)", "It's well-known : 5 - 4 ( final )"],
    ['a/b [c] {d} x=y; z?', 'a / b [ c ] { d } x = y ; z ?'],
    ['back\\slash ^_^ `tick` ~tilde|pipe', 'back \\ slash ^ _ ^ ` tick ` ~ tilde | pipe'],
    ['  many   spaces\there  ', 'many spaces here'],
  ])('%j → %j', (input, expected) => {
    expect(tokenize13a(input)).toBe(expected);
  });

  it('drops <skipped>, joins hyphenated lines and unescapes entities', () => {
    expect(tokenize13a('<skipped>foo bar')).toBe('foo bar');
    expect(tokenize13a('hyphen-\nated line\nbreak')).toBe('hyphenated line break');
    expect(tokenize13a('&quot;Hi&quot; &amp; &lt;b&gt;')).toBe('" Hi " & < b >');
    // &amp; is unescaped before &lt;, so "&amp;lt;" becomes "<".
    expect(tokenize13a('&amp;lt;')).toBe('<');
    expect(tokenize13a('')).toBe('');
  });

  it('leaves non-ASCII letters alone', () => {
    expect(tokenize13a('Grüße, café.')).toBe('Grüße , café .');
  });
});

describe('corpusBleu against sacreBLEU', () => {
  it("agrees with the example of sacreBLEU's README (two reference streams)", () => {
    // sacreBLEU prints: BLEU = 48.53 82.4/50.0/45.5/37.5 (BP = 0.943 ratio = 0.944 hyp_len = 17 ref_len = 18)
    const result = corpusBleu(
      ['The dog bit the man.', "It wasn't surprising.", 'The man had just bitten him.'],
      [
        ['The dog bit the man.', 'The dog had bit the man.'],
        ['It was not unexpected.', 'No one was surprised.'],
        ['The man bit him first.', 'The man had bitten the dog.'],
      ],
    );
    expect(result.score.toFixed(2)).toBe('48.53');
    expect(result.precisions.map((p) => p.toFixed(1))).toEqual(['82.4', '50.0', '45.5', '37.5']);
    expect(result.brevityPenalty.toFixed(3)).toBe('0.943');
    expect([result.hypLength, result.refLength]).toEqual([17, 18]);
  });
});

describe('bleuStatistics', () => {
  it('batches add up to the whole corpus', () => {
    const hyps = ['the cat sat on the mat', 'we love green apples', 'a b c d e'];
    const refs = ['the cat is on the mat', 'we love green apples a lot', 'a b c x d e'];
    const whole = bleuStatistics(hyps, refs);
    const parts = addBleuStatistics(bleuStatistics(hyps.slice(0, 2), refs.slice(0, 2)), bleuStatistics(hyps.slice(2), refs.slice(2)));
    expect(parts).toEqual(whole);
    expect(bleuFromStatistics(parts).score).toBe(corpusBleu(hyps, refs).score);
  });
});
