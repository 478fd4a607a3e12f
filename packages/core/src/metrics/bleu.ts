// Corpus-level BLEU (Papineni et al., 2002): clipped n-gram matches (n = 1..4) summed over
// the whole corpus, geometric mean of the four precisions, times a brevity penalty. Follows
// sacreBLEU's defaults (13a tokenisation, closest reference length, no smoothing), so scores
// on detokenised text are comparable with `sacrebleu` and mteval-v13a.pl.

import { DataError, ShapeError } from '../errors.js';

const MAX_ORDER = 4;

export type BleuTokenize = '13a' | 'none';
export type BleuSmooth = 'none' | 'exp' | 'floor';

export interface CorpusBleuOptions {
  /** '13a' (mteval-v13a, sacreBLEU's default) or 'none' (split on whitespace only). Default '13a'. */
  tokenize?: BleuTokenize;
  /** Lowercase hypotheses and references before tokenising. Default false. */
  lowercase?: boolean;
  /**
   * What a zero n-gram precision becomes. 'none' (default): the score is 0. 'exp': the k-th
   * zero precision becomes 1 / (2^k · total) (mteval's smoothing). 'floor': smoothValue / total.
   */
  smooth?: BleuSmooth;
  /** Numerator for smooth: 'floor'. Default 0.1 (as sacreBLEU). */
  smoothValue?: number;
  /**
   * N: the precisions of n = 1..N enter the geometric mean, each weighted 1/N (Papineni et al.
   * §2.3's uniform weights). Default 4 (BLEU-4, the standard); 2 gives BLEU-2, which scores
   * corpora of captions too short to share 4-grams.
   */
  maxOrder?: number;
}

export interface BleuResult {
  /** BLEU in [0, 100]. */
  score: number;
  /** Modified n-gram precisions for n = 1..N (`maxOrder`, default 4), in percent (after smoothing). */
  precisions: number[];
  /** exp(1 − r/c) when the hypotheses are shorter than the references (c < r), else 1. */
  brevityPenalty: number;
  /** c: total hypothesis tokens. */
  hypLength: number;
  /** r: total reference tokens, taking for each hypothesis the reference closest in length. */
  refLength: number;
  /** Clipped n-gram matches for n = 1..4, summed over the corpus. */
  counts: number[];
  /** Hypothesis n-grams for n = 1..4, summed over the corpus. */
  totals: number[];
}

/** The sums corpus BLEU is computed from; add those of batches with `addBleuStatistics`. */
export interface BleuStatistics {
  /** Clipped n-gram matches for n = 1..4. */
  counts: number[];
  /** Hypothesis n-grams for n = 1..4. */
  totals: number[];
  /** c: hypothesis tokens. */
  hypLength: number;
  /** r: reference tokens, taking for each hypothesis the reference closest in length. */
  refLength: number;
}

/**
 * Corpus BLEU. `references[i]` is the reference for `hypotheses[i]`, or a list of references
 * for it (multi-reference: matches are clipped by the largest count in any one reference,
 * and the reference length is the one closest to the hypothesis, the shorter on a tie).
 */
export function corpusBleu(
  hypotheses: readonly string[],
  references: readonly string[] | readonly (readonly string[])[],
  options: CorpusBleuOptions = {},
): BleuResult {
  if (hypotheses.length === 0 && references.length === 0) throw new DataError('corpusBleu: no hypotheses to score');
  return bleuFromStatistics(bleuStatistics(hypotheses, references, options), options);
}

/**
 * The n-gram sums of `hypotheses` against `references` (as for `corpusBleu`), so that a corpus
 * read in batches scores the same as one read whole: add the batches' sums, then
 * `bleuFromStatistics`.
 */
export function bleuStatistics(
  hypotheses: readonly string[],
  references: readonly string[] | readonly (readonly string[])[],
  options: Pick<CorpusBleuOptions, 'tokenize' | 'lowercase'> = {},
): BleuStatistics {
  const { tokenize = '13a', lowercase = false } = options;
  if (tokenize !== '13a' && tokenize !== 'none') {
    throw new DataError(`corpusBleu: tokenize must be '13a' or 'none', got ${JSON.stringify(tokenize)}`);
  }
  if (references.length !== hypotheses.length) {
    throw new ShapeError(`corpusBleu: ${hypotheses.length} hypotheses for ${references.length} references`);
  }

  const words = (text: string): string[] => {
    const line = rstripPython(lowercase ? text.toLowerCase() : text);
    return splitPython(tokenize === '13a' ? tokenize13a(line) : line);
  };

  const stats: BleuStatistics = { counts: new Array<number>(MAX_ORDER).fill(0), totals: new Array<number>(MAX_ORDER).fill(0), hypLength: 0, refLength: 0 };
  for (let i = 0; i < hypotheses.length; i++) {
    const refEntry = references[i]!;
    const refs = typeof refEntry === 'string' ? [refEntry] : refEntry;
    if (refs.length === 0) throw new DataError(`corpusBleu: hypothesis ${i} has no reference`);
    const hyp = words(hypotheses[i]!);
    const refWords = refs.map(words);

    stats.hypLength += hyp.length;
    stats.refLength += closestLength(hyp.length, refWords);

    // Clip by the maximum count of each n-gram in any single reference.
    const maxRef = new Map<string, number>();
    for (const ref of refWords) {
      for (const [gram, count] of ngramCounts(ref)) {
        if (count > (maxRef.get(gram) ?? 0)) maxRef.set(gram, count);
      }
    }
    for (const [gram, count] of ngramCounts(hyp)) {
      const n = gramOrder(gram);
      stats.totals[n - 1]! += count;
      stats.counts[n - 1]! += Math.min(count, maxRef.get(gram) ?? 0);
    }
  }
  return stats;
}

/** The sums of two parts of a corpus (a new object). */
export function addBleuStatistics(a: BleuStatistics, b: BleuStatistics): BleuStatistics {
  return {
    counts: a.counts.map((x, n) => x + b.counts[n]!),
    totals: a.totals.map((x, n) => x + b.totals[n]!),
    hypLength: a.hypLength + b.hypLength,
    refLength: a.refLength + b.refLength,
  };
}

/** BLEU from corpus sums: brevity penalty times the geometric mean of the precisions of n = 1..`maxOrder` (default 4). */
export function bleuFromStatistics(stats: BleuStatistics, options: Pick<CorpusBleuOptions, 'smooth' | 'smoothValue' | 'maxOrder'> = {}): BleuResult {
  const { smooth = 'none', smoothValue = 0.1, maxOrder = MAX_ORDER } = options;
  if (smooth !== 'none' && smooth !== 'exp' && smooth !== 'floor') {
    throw new DataError(`corpusBleu: smooth must be 'none', 'exp' or 'floor', got ${JSON.stringify(smooth)}`);
  }
  if (!Number.isInteger(maxOrder) || maxOrder < 1 || maxOrder > MAX_ORDER) throw new DataError(`corpusBleu: maxOrder must be an integer 1 … ${MAX_ORDER}, got ${maxOrder}`);
  const { counts, totals, hypLength, refLength } = stats;
  const brevityPenalty = hypLength >= refLength ? 1 : hypLength > 0 ? Math.exp(1 - refLength / hypLength) : 0;
  const precisions = new Array<number>(maxOrder).fill(0);
  let smoothExp = 1;
  let complete = true;
  for (let n = 0; n < maxOrder; n++) {
    const total = totals[n]!;
    const count = counts[n]!;
    if (total === 0) {
      complete = false;
      break;
    }
    if (count > 0) {
      precisions[n] = (100 * count) / total;
    } else if (smooth === 'exp') {
      smoothExp *= 2;
      precisions[n] = 100 / (smoothExp * total);
    } else if (smooth === 'floor') {
      precisions[n] = (100 * smoothValue) / total;
    } else {
      complete = false;
    }
  }
  let score = 0;
  if (complete && precisions.every((p) => p > 0)) {
    const meanLog = precisions.reduce((acc, p) => acc + Math.log(p), 0) / maxOrder;
    score = brevityPenalty * Math.exp(meanLog);
  }
  return { score, precisions, brevityPenalty, hypLength, refLength, counts: [...counts], totals: [...totals] };
}

/**
 * mteval-v13a normalisation and tokenisation, as sacreBLEU's '13a': drop `<skipped>`, join
 * lines split after a hyphen, unescape &quot; &amp; &lt; &gt;, put spaces around punctuation
 * and symbols, split period and comma except between digits (3.14, 1,000), split a dash
 * after a digit, and collapse whitespace. Returns the tokens joined by single spaces.
 */
export function tokenize13a(text: string): string {
  let line = text.replaceAll('<skipped>', '').replaceAll('-\n', '').replaceAll('\n', ' ');
  if (line.includes('&')) {
    // The order matters ("&amp;lt;" becomes "<"), as in mteval-v13a.
    line = line.replaceAll('&quot;', '"').replaceAll('&amp;', '&').replaceAll('&lt;', '<').replaceAll('&gt;', '>');
  }
  line = ` ${line} `;
  // Symbols and punctuation other than . , - and ': { | } ~ [ \ ] ^ _ ` space ! " # $ % & ( ) * + : ; < = > ? @ /
  line = line.replace(/([\x7b-\x7e\x5b-\x60\x20-\x26\x28-\x2b\x3a-\x40\x2f])/gu, ' $1 ');
  line = line.replace(/([^0-9])([.,])/gu, '$1 $2 '); // period/comma not preceded by a digit
  line = line.replace(/([.,])([^0-9])/gu, ' $1 $2'); // period/comma not followed by a digit
  line = line.replace(/([0-9])(-)/gu, '$1 $2 '); // dash preceded by a digit
  return splitPython(line).join(' ');
}

/** Python's str.isspace() characters, so splitting and stripping agree with sacreBLEU. */
const PY_SPACE = '\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const PY_SPACES = new RegExp(`[${PY_SPACE}]+`, 'u');
const PY_TRAILING_SPACES = new RegExp(`[${PY_SPACE}]+$`, 'u');

function splitPython(line: string): string[] {
  return line.split(PY_SPACES).filter((w) => w.length > 0);
}

function rstripPython(line: string): string {
  return line.replace(PY_TRAILING_SPACES, '');
}

/** Counts of every n-gram, n = 1..4, keyed by its words joined with single spaces. */
function ngramCounts(words: readonly string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (let n = 1; n <= MAX_ORDER; n++) {
    for (let i = 0; i + n <= words.length; i++) {
      const gram = words.slice(i, i + n).join(' ');
      out.set(gram, (out.get(gram) ?? 0) + 1);
    }
  }
  return out;
}

/** Words contain no whitespace, so an n-gram key holds exactly n − 1 spaces. */
function gramOrder(gram: string): number {
  let n = 1;
  for (let i = 0; i < gram.length; i++) if (gram.charCodeAt(i) === 32) n++;
  return n;
}

function closestLength(hypLen: number, refs: readonly (readonly string[])[]): number {
  let best = Infinity;
  let bestDiff = Infinity;
  for (const ref of refs) {
    const diff = Math.abs(ref.length - hypLen);
    if (diff < bestDiff || (diff === bestDiff && ref.length < best)) {
      best = ref.length;
      bestDiff = diff;
    }
  }
  return best;
}
