// Accuracy-style metrics and perplexity over plain arrays: token accuracy with an ignored
// (padding) label, classification accuracy, exact match over strings and id sequences,
// a confusion matrix, and perplexity = exp(mean negative log-likelihood per token) and bits per
// character, as reported by LM trainers.
// Accuracies are fractions in [0, 1]; nothing to score is an error, never NaN.

import { DataError, ShapeError } from '../errors.js';
import { sumExp } from '../fast-exp.js';

export interface TokenAccuracyOptions {
  /** Label id whose positions are not scored (padding, e.g. -100 or the pad id). Default: none. */
  ignoreId?: number;
}

/**
 * Fraction of positions where `predictions[i] === labels[i]`, skipping positions whose
 * label is `ignoreId`. Both arrays are aligned position by position (flattened [B, T]).
 */
export function tokenAccuracy(
  predictions: ArrayLike<number>,
  labels: ArrayLike<number>,
  options: TokenAccuracyOptions = {},
): number {
  checkSameLength('tokenAccuracy', predictions.length, labels.length);
  const { ignoreId } = options;
  let correct = 0;
  let total = 0;
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i]!;
    if (label === ignoreId) continue;
    total++;
    if (predictions[i] === label) correct++;
  }
  if (total === 0) throw new DataError(`tokenAccuracy: no positions to score (${labels.length} labels, all ignored or none)`);
  return correct / total;
}

/** Classification accuracy: fraction of examples whose predicted class equals the label. */
export function accuracy(predictions: ArrayLike<number>, labels: ArrayLike<number>): number {
  checkSameLength('accuracy', predictions.length, labels.length);
  if (labels.length === 0) throw new DataError('accuracy: no examples to score');
  let correct = 0;
  for (let i = 0; i < labels.length; i++) if (predictions[i] === labels[i]) correct++;
  return correct / labels.length;
}

/**
 * Confusion matrix of a classifier: `matrix[label][prediction]` counts the examples of true
 * class `label` predicted as `prediction` (rows: truth, columns: prediction; the diagonal is
 * what it got right). Counts are added into `into` when given (for data read in batches).
 */
export function confusionMatrix(
  predictions: ArrayLike<number>,
  labels: ArrayLike<number>,
  numClasses: number,
  into?: number[][],
): number[][] {
  checkSameLength('confusionMatrix', predictions.length, labels.length);
  if (!Number.isInteger(numClasses) || numClasses < 1) throw new ShapeError(`confusionMatrix: numClasses must be a positive integer, got ${numClasses}`);
  const matrix = into ?? Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  if (matrix.length !== numClasses || matrix.some((row) => row.length !== numClasses)) throw new ShapeError(`confusionMatrix: the matrix to add into is not ${numClasses} × ${numClasses}`);
  for (let i = 0; i < labels.length; i++) {
    for (const [what, k] of [['label', labels[i]!], ['prediction', predictions[i]!]] as const) {
      if (!Number.isInteger(k) || k < 0 || k >= numClasses) throw new DataError(`confusionMatrix: ${what} ${k} at position ${i} is outside [0, ${numClasses})`);
    }
    matrix[labels[i]!]![predictions[i]!]! += 1;
  }
  return matrix;
}

/** Fraction of predictions that equal their reference string exactly (no normalisation). */
export function exactMatch(predictions: readonly string[], references: readonly string[]): number {
  checkSameLength('exactMatch', predictions.length, references.length, 'references');
  if (references.length === 0) throw new DataError('exactMatch: no examples to score');
  let correct = 0;
  for (let i = 0; i < references.length; i++) if (predictions[i] === references[i]) correct++;
  return correct / references.length;
}

/**
 * Fraction of id sequences predicted entirely right.
 * Without `ignoreId` a sequence matches when it has the label's length and every id.
 * With `ignoreId` the pairs are aligned, padded rows (as for `tokenAccuracy`): each pair
 * must have equal lengths, and positions whose label is `ignoreId` are not compared.
 */
export function sequenceExactMatch(
  predictions: readonly ArrayLike<number>[],
  labels: readonly ArrayLike<number>[],
  options: TokenAccuracyOptions = {},
): number {
  checkSameLength('sequenceExactMatch', predictions.length, labels.length);
  if (labels.length === 0) throw new DataError('sequenceExactMatch: no sequences to score');
  const { ignoreId } = options;
  let correct = 0;
  for (let s = 0; s < labels.length; s++) {
    const pred = predictions[s]!;
    const label = labels[s]!;
    if (pred.length !== label.length) {
      if (ignoreId !== undefined) {
        throw new ShapeError(
          `sequenceExactMatch: with ignoreId, sequence ${s} has ${pred.length} predictions for ${label.length} labels`,
        );
      }
      continue;
    }
    let same = true;
    for (let i = 0; i < label.length && same; i++) {
      if (label[i] !== ignoreId && pred[i] !== label[i]) same = false;
    }
    if (same) correct++;
  }
  return correct / labels.length;
}

export interface MeanNllOptions {
  /** Per-position weights (1 = scored, 0 = padding); same length as the NLLs. Default: all 1. */
  mask?: ArrayLike<number>;
}

/** Mean of per-token negative log-likelihoods (nats), optionally weighted by a 0/1 mask. */
export function meanNll(nlls: ArrayLike<number>, options: MeanNllOptions = {}): number {
  const { mask } = options;
  if (mask !== undefined && mask.length !== nlls.length) {
    throw new ShapeError(`meanNll: mask has ${mask.length} entries for ${nlls.length} NLL values`);
  }
  let sum = 0;
  let weight = 0;
  for (let i = 0; i < nlls.length; i++) {
    const w = mask === undefined ? 1 : mask[i]!;
    if (w === 0) continue;
    sum += w * nlls[i]!;
    weight += w;
  }
  if (weight === 0) throw new DataError(`meanNll: no tokens to average (${nlls.length} values, all masked or none)`);
  return sum / weight;
}

export interface NllFromLogitsOptions {
  /** Size of the last logits axis. */
  vocabSize: number;
  /** Label id whose positions are not scored. Default: none. */
  ignoreId?: number;
}

export interface NllSum {
  /** Sum of -log softmax(logits)[label] over scored positions, in nats. */
  sum: number;
  /** Number of scored positions. */
  count: number;
  /** sum / count: the value `perplexity` takes. */
  mean: number;
}

/**
 * Token cross-entropy from raw logits [N, V] (row-major) and labels [N], computed with a
 * max-shifted log-sum-exp in float64. Keep `sum` and `count` to aggregate over batches.
 */
export function nllFromLogits(
  logits: ArrayLike<number>,
  labels: ArrayLike<number>,
  options: NllFromLogitsOptions,
): NllSum {
  const { vocabSize: V, ignoreId } = options;
  if (!Number.isInteger(V) || V <= 0) throw new ShapeError(`nllFromLogits: vocabSize must be a positive integer, got ${V}`);
  if (logits.length !== labels.length * V) {
    throw new ShapeError(`nllFromLogits: logits has ${logits.length} values, expected labels (${labels.length}) × vocabSize (${V})`);
  }
  let sum = 0;
  let count = 0;
  for (let n = 0; n < labels.length; n++) {
    const label = labels[n]!;
    if (label === ignoreId) continue;
    if (!Number.isInteger(label) || label < 0 || label >= V) {
      throw new DataError(`nllFromLogits: label ${label} at position ${n} is outside [0, ${V})`);
    }
    const row = n * V;
    let max = -Infinity;
    for (let v = 0; v < V; v++) max = Math.max(max, logits[row + v]!);
    sum += max + Math.log(sumExp(logits, row, V, max)) - logits[row + label]!;
    count++;
  }
  if (count === 0) throw new DataError(`nllFromLogits: no positions to score (${labels.length} labels, all ignored or none)`);
  return { sum, count, mean: sum / count };
}

/** Perplexity = exp(mean NLL per token, in nats). */
export function perplexity(meanNllValue: number): number {
  if (Number.isNaN(meanNllValue)) throw new DataError('perplexity: mean NLL is NaN');
  return Math.exp(meanNllValue);
}

/**
 * Bits per character: a summed NLL (nats) over the predicted tokens, in bits (÷ ln 2), divided
 * by the characters those tokens spell. Equals bits per token for a character tokenizer.
 */
export function bitsPerCharacter(nllSum: number, characters: number): number {
  if (Number.isNaN(nllSum)) throw new DataError('bitsPerCharacter: NLL is NaN');
  if (!Number.isInteger(characters) || characters <= 0) throw new DataError(`bitsPerCharacter: no characters to score (${characters})`);
  return nllSum / Math.LN2 / characters;
}

function checkSameLength(fn: string, predictions: number, labels: number, noun = 'labels'): void {
  if (predictions !== labels) throw new ShapeError(`${fn}: ${predictions} predictions for ${labels} ${noun}`);
}
