// chrF (Popović, 2015): the F-score of character n-grams, n = 1..6, with recall weighted β = 2
// times as much as precision. As sacreBLEU's defaults (chrF2, char order 6, no word n-grams):
// whitespace is removed before n-grams are taken, the n-gram counts of the whole corpus are
// summed per order, precision and recall are averaged over the orders both sides have n-grams
// of, and F_β is taken of the two averages. Single reference per hypothesis.

import { DataError, ShapeError } from '../errors.js';

/** Character n-gram orders of chrF. */
export const CHRF_ORDER = 6;

export interface ChrfOptions {
  /** β: recall counts β times as much as precision. Default 2. */
  beta?: number;
  /** Lowercase both sides first. Default false. */
  lowercase?: boolean;
}

/** Corpus sums per order n = 1..6 (index n − 1); add those of batches with `addChrfStatistics`. */
export interface ChrfStatistics {
  /** Character n-grams of the hypotheses. */
  hyp: number[];
  /** Character n-grams of the references. */
  ref: number[];
  /** n-grams in common (the smaller of the two counts, per n-gram). */
  match: number[];
}

export interface ChrfResult {
  /** chrF in [0, 100]. */
  score: number;
  /** Character n-gram precision averaged over the orders, in percent. */
  precision: number;
  /** Character n-gram recall averaged over the orders, in percent. */
  recall: number;
  /** Orders with n-grams on both sides (the averages run over these). */
  effectiveOrder: number;
}

/** Corpus chrF of `hypotheses` against `references` (one each). */
export function corpusChrf(hypotheses: readonly string[], references: readonly string[], options: ChrfOptions = {}): ChrfResult {
  if (hypotheses.length === 0 && references.length === 0) throw new DataError('corpusChrf: no hypotheses to score');
  return chrfFromStatistics(chrfStatistics(hypotheses, references, options), options);
}

/** The n-gram sums of `hypotheses` against `references` (as for `corpusChrf`). */
export function chrfStatistics(hypotheses: readonly string[], references: readonly string[], options: Pick<ChrfOptions, 'lowercase'> = {}): ChrfStatistics {
  if (hypotheses.length !== references.length) throw new ShapeError(`corpusChrf: ${hypotheses.length} hypotheses for ${references.length} references`);
  const stats: ChrfStatistics = { hyp: new Array<number>(CHRF_ORDER).fill(0), ref: new Array<number>(CHRF_ORDER).fill(0), match: new Array<number>(CHRF_ORDER).fill(0) };
  const chars = (text: string): string[] => [...(options.lowercase ? text.toLowerCase() : text).replace(/\s+/gu, '')];
  for (let i = 0; i < hypotheses.length; i++) {
    const hyp = chars(hypotheses[i]!);
    const ref = chars(references[i]!);
    for (let n = 1; n <= CHRF_ORDER; n++) {
      const h = charNgrams(hyp, n);
      const r = charNgrams(ref, n);
      let match = 0;
      for (const [gram, count] of h) match += Math.min(count, r.get(gram) ?? 0);
      stats.hyp[n - 1]! += Math.max(0, hyp.length - n + 1);
      stats.ref[n - 1]! += Math.max(0, ref.length - n + 1);
      stats.match[n - 1]! += match;
    }
  }
  return stats;
}

/** The sums of two parts of a corpus (a new object). */
export function addChrfStatistics(a: ChrfStatistics, b: ChrfStatistics): ChrfStatistics {
  const add = (x: number[], y: number[]) => x.map((v, i) => v + y[i]!);
  return { hyp: add(a.hyp, b.hyp), ref: add(a.ref, b.ref), match: add(a.match, b.match) };
}

/**
 * chrF from corpus sums: per order n, precision match/hyp and recall match/ref; both averaged
 * over the orders where hypotheses and references have n-grams; then
 * F_β = (1 + β²)·P·R / (β²·P + R). Nothing to compare on either side scores 0.
 */
export function chrfFromStatistics(stats: ChrfStatistics, options: Pick<ChrfOptions, 'beta'> = {}): ChrfResult {
  const { beta = 2 } = options;
  if (!(beta > 0)) throw new DataError(`corpusChrf: beta must be > 0, got ${beta}`);
  let precision = 0;
  let recall = 0;
  let effectiveOrder = 0;
  for (let n = 0; n < CHRF_ORDER; n++) {
    if (stats.hyp[n]! === 0 || stats.ref[n]! === 0) continue;
    precision += stats.match[n]! / stats.hyp[n]!;
    recall += stats.match[n]! / stats.ref[n]!;
    effectiveOrder++;
  }
  if (effectiveOrder === 0) return { score: 0, precision: 0, recall: 0, effectiveOrder };
  precision /= effectiveOrder;
  recall /= effectiveOrder;
  const b2 = beta * beta;
  const score = precision + recall > 0 ? (100 * (1 + b2) * precision * recall) / (b2 * precision + recall) : 0;
  return { score, precision: 100 * precision, recall: 100 * recall, effectiveOrder };
}

/** Counts of the n-grams of `chars` (code points). */
function charNgrams(chars: readonly string[], n: number): Map<string, number> {
  const out = new Map<string, number>();
  for (let i = 0; i + n <= chars.length; i++) {
    const gram = chars.slice(i, i + n).join('');
    out.set(gram, (out.get(gram) ?? 0) + 1);
  }
  return out;
}
