import { describe, expect, it } from 'vitest';
import { DataError, ShapeError } from '../errors.js';
import { addChrfStatistics, chrfFromStatistics, chrfStatistics, corpusChrf } from './chrf.js';

describe('corpusChrf worked examples', () => {
  it('one sentence: orders without n-grams on both sides are left out of the averages', () => {
    // hyp "ab", ref "abc":
    //   n = 1: hyp 2, ref 3, match 2 → P 1, R 2/3
    //   n = 2: hyp 1 (ab), ref 2 (ab bc), match 1 → P 1, R 1/2
    //   n ≥ 3: the hypothesis has none → not averaged
    // P = 1, R = (2/3 + 1/2) / 2 = 7/12; F2 = 5 · 1 · 7/12 / (4 · 1 + 7/12) = 35/55 = 7/11
    const result = corpusChrf(['ab'], ['abc']);
    expect(result.effectiveOrder).toBe(2);
    expect(result.precision).toBeCloseTo(100, 12);
    expect(result.recall).toBeCloseTo((100 * 7) / 12, 12);
    expect(result.score).toBeCloseTo((100 * 7) / 11, 12);
  });

  it('whitespace is removed before taking n-grams', () => {
    expect(corpusChrf(['a b'], ['abc']).score).toBeCloseTo((100 * 7) / 11, 12);
    expect(corpusChrf(['the cat'], ['thecat']).score).toBeCloseTo(100, 12);
  });

  it('a repeated n-gram matches at most as often as the reference has it', () => {
    // hyp "aaa", ref "a": n = 1 hyp 3, ref 1, match 1 → P 1/3, R 1; no 2-grams in the reference.
    // F2 = 5 · (1/3) · 1 / (4/3 + 1) = 5/7
    expect(corpusChrf(['aaa'], ['a']).score).toBeCloseTo((100 * 5) / 7, 12);
  });

  it('sums the counts of the corpus before dividing (not a mean of sentence scores)', () => {
    // ("ab", "abc") and ("abc", "abc"):
    //   n = 1: hyp 5, ref 6, match 5;  n = 2: hyp 3, ref 4, match 3;  n = 3: hyp 1, ref 2, match 1
    //   P = 1; R = (5/6 + 3/4 + 1/2) / 3 = 25/36; F2 = 5 · 25/36 / (4 + 25/36) = 125/169
    const result = corpusChrf(['ab', 'abc'], ['abc', 'abc']);
    expect(result.score).toBeCloseTo((100 * 125) / 169, 12);
    const mean = (corpusChrf(['ab'], ['abc']).score + corpusChrf(['abc'], ['abc']).score) / 2;
    expect(Math.abs(result.score - mean)).toBeGreaterThan(1);
  });

  it('beta weights recall over precision', () => {
    // hyp "aaa" vs "a": P 1/3, R 1. β = 1: F1 = 2 · (1/3) / (4/3) = 1/2.
    expect(corpusChrf(['aaa'], ['a'], { beta: 1 }).score).toBeCloseTo(50, 12);
  });

  it('agrees with sacreBLEU 2.x (chrF2, its defaults)', () => {
    // Values printed by sacreBLEU's CHRF() for these inputs (as quoted in Hugging Face's chrF metric card).
    expect(
      corpusChrf(['The relationship between Obama and Netanyahu is not exactly friendly.'], ['The ties between Obama and Netanyahu are not particularly friendly.']).score,
    ).toBeCloseTo(61.576379378113785, 9);
    expect(
      corpusChrf(
        ['The relationship between cats and dogs is not exactly friendly.', 'a good bookshop is just a genteel black hole that knows how to read.'],
        ['The relationship between dogs and cats is not exactly friendly.', 'A good bookshop is just a genteel Black Hole that knows how to read.'],
      ).score,
    ).toBeCloseTo(84.64214891738334, 9);
  });

  it('lowercase folds case', () => {
    expect(corpusChrf(['ABC'], ['abc']).score).toBe(0);
    expect(corpusChrf(['ABC'], ['abc'], { lowercase: true }).score).toBeCloseTo(100, 12);
  });

  it('statistics of batches add up to those of the whole corpus', () => {
    const hyps = ['ab', 'abc', 'the cat sat'];
    const refs = ['abc', 'abc', 'a cat sat down'];
    const whole = chrfStatistics(hyps, refs);
    const parts = addChrfStatistics(chrfStatistics(hyps.slice(0, 1), refs.slice(0, 1)), chrfStatistics(hyps.slice(1), refs.slice(1)));
    expect(parts).toEqual(whole);
    expect(chrfFromStatistics(parts).score).toBeCloseTo(corpusChrf(hyps, refs).score, 12);
  });

  it('empty output scores 0; bad inputs are errors', () => {
    expect(corpusChrf([''], ['abc']).score).toBe(0);
    expect(() => corpusChrf([], [])).toThrow(DataError);
    expect(() => corpusChrf(['a'], ['a', 'b'])).toThrow(ShapeError);
    expect(() => corpusChrf(['a'], ['a'], { beta: 0 })).toThrow(/beta must be > 0/);
  });
});
