// Batches of token ids as flat row-major Int32Arrays plus the valid length of each row.
// Padding masks are not built here: the model derives them from the lengths
// (see masks.ts), so a batch is just ids, labels and lengths, the same for tfjs and ONNX.

import { ConfigError, DataError } from '../errors.js';
import { createRng } from '../random.js';

export interface Seq2SeqBatch {
  batchSize: number;
  srcLen: number;
  tgtLen: number;
  /** [B, srcLen] row-major, padded with the pad id. */
  srcIds: Int32Array;
  /** [B] valid source lengths. */
  srcLengths: Int32Array;
  /** [B, tgtLen]: bos + target, padded (teacher forcing input). */
  decoderInputIds: Int32Array;
  /** [B, tgtLen]: target + eos, padded with the pad id. */
  labels: Int32Array;
  /** [B] = target length + 1. */
  tgtLengths: Int32Array;
}

export interface ClassificationBatch {
  batchSize: number;
  seqLen: number;
  /** [B, seqLen], padded with the pad id. */
  inputIds: Int32Array;
  /** [B] valid lengths. */
  lengths: Int32Array;
  /** [B] class labels. */
  labels: Int32Array;
  /** [B, seqLen] token types (0 at the cls token and padding), when any example has them. */
  tokenTypes?: Int32Array;
}

export interface LmBatch {
  batchSize: number;
  seqLen: number;
  /** [B, seqLen]. */
  inputIds: Int32Array;
  /** [B, seqLen]: the next token of each input position, padded with the pad id. */
  labels: Int32Array;
  /** [B] valid lengths. */
  lengths: Int32Array;
}

/** Token ids without bos/eos. */
export interface EncodedPair {
  source: number[];
  target: number[];
}

export interface EncodedExample {
  ids: number[];
  label: number;
  /** Each id's token type (a sentence pair's segments A = 0 and B = 1); default all 0. */
  typeIds?: number[];
}

/**
 * How long a batch's rows are: `'longest'` (default) pads to the longest row of this batch;
 * `'max'` pads to the configured maximum (fixed shapes, e.g. for a static ONNX graph);
 * a number pads every row (source and decoder side alike) to exactly that length, and is
 * then also a limit on row length.
 */
export type PadTo = 'longest' | 'max' | number;

export interface Seq2SeqBatchOptions {
  /** Longest source accepted (tokens). Default: no limit. */
  maxSrcLen?: number;
  /** Longest decoder sequence accepted, counting the bos/eos slot (target length + 1). Default: no limit. */
  maxTgtLen?: number;
  padTo?: PadTo;
  /**
   * Cut over-long examples instead of throwing: the source to maxSrcLen, the target to
   * maxTgtLen - 1 tokens (labels still end with eos). Default false.
   */
  truncate?: boolean;
}

export interface ClassificationBatchOptions {
  /** Longest input accepted, counting the cls token if any. Default: no limit. */
  maxLen?: number;
  padTo?: PadTo;
  /** Cut over-long inputs to maxLen instead of throwing. Default false. */
  truncate?: boolean;
}

export interface LmBatchOptions {
  /** Longest input accepted (tokens after the shift). Default: no limit. */
  maxLen?: number;
  padTo?: PadTo;
  /** Cut over-long sequences to maxLen instead of throwing. Default false. */
  truncate?: boolean;
}

/** Encoder–decoder batch: source padded; decoder input = bos + target; labels = target + eos. */
export function makeSeq2SeqBatch(
  pairs: readonly EncodedPair[],
  ids: { pad: number; bos: number; eos: number },
  opts: Seq2SeqBatchOptions = {},
): Seq2SeqBatch {
  const { maxSrcLen, maxTgtLen, padTo = 'longest', truncate = false } = opts;
  checkNonEmpty(pairs.length);
  const srcLimit = limitOf('maxSrcLen', maxSrcLen, padTo, 1);
  const tgtLimit = limitOf('maxTgtLen', maxTgtLen, padTo, 1);
  const sources = pairs.map((p, i) => {
    if (p.source.length === 0) throw new DataError(`example ${i}: source has no tokens`);
    return fit(p.source, 0, srcLimit, truncate, i, 'source');
  });
  const targets = pairs.map((p, i) => fit(p.target, 1, tgtLimit, truncate, i, 'target + eos'));
  const srcLen = rowLength(sources.map((s) => s.length), padTo, srcLimit);
  const tgtLen = rowLength(targets.map((t) => t.length + 1), padTo, tgtLimit);

  const B = pairs.length;
  const srcIds = new Int32Array(B * srcLen).fill(ids.pad); // [B, srcLen]
  const decoderInputIds = new Int32Array(B * tgtLen).fill(ids.pad); // [B, tgtLen]
  const labels = new Int32Array(B * tgtLen).fill(ids.pad); // [B, tgtLen]
  const srcLengths = new Int32Array(B);
  const tgtLengths = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    const source = sources[b]!;
    const target = targets[b]!;
    srcIds.set(source, b * srcLen);
    srcLengths[b] = source.length;
    decoderInputIds[b * tgtLen] = ids.bos;
    decoderInputIds.set(target, b * tgtLen + 1);
    labels.set(target, b * tgtLen);
    labels[b * tgtLen + target.length] = ids.eos;
    tgtLengths[b] = target.length + 1;
  }
  return { batchSize: B, srcLen, tgtLen, srcIds, srcLengths, decoderInputIds, labels, tgtLengths };
}

/** Encoder-classifier batch: optional cls id first, then the ids, padded. */
export function makeClassificationBatch(
  examples: readonly EncodedExample[],
  ids: { pad: number; cls?: number },
  opts: ClassificationBatchOptions = {},
): ClassificationBatch {
  const { maxLen, padTo = 'longest', truncate = false } = opts;
  checkNonEmpty(examples.length);
  const limit = limitOf('maxLen', maxLen, padTo, ids.cls === undefined ? 1 : 2);
  const rows = examples.map((e, i) => {
    if (!Number.isInteger(e.label) || e.label < 0) throw new DataError(`example ${i}: label must be an integer >= 0, got ${e.label}`);
    if (e.ids.length === 0) throw new DataError(`example ${i}: no tokens`);
    if (e.typeIds && e.typeIds.length !== e.ids.length) throw new DataError(`example ${i}: ${e.typeIds.length} token types for ${e.ids.length} tokens`);
    return fit(ids.cls === undefined ? e.ids : [ids.cls, ...e.ids], 0, limit, truncate, i, 'input');
  });
  const seqLen = rowLength(rows.map((r) => r.length), padTo, limit);
  const B = examples.length;
  const inputIds = new Int32Array(B * seqLen).fill(ids.pad); // [B, seqLen]
  const lengths = new Int32Array(B);
  const labels = new Int32Array(B);
  const typed = examples.some((e) => e.typeIds !== undefined);
  const tokenTypes = typed ? new Int32Array(B * seqLen) : undefined; // [B, seqLen]
  for (let b = 0; b < B; b++) {
    const row = rows[b]!;
    inputIds.set(row, b * seqLen);
    lengths[b] = row.length;
    labels[b] = examples[b]!.label;
    const types = examples[b]!.typeIds;
    if (tokenTypes && types) tokenTypes.set((ids.cls === undefined ? types : [0, ...types]).slice(0, row.length), b * seqLen);
  }
  return { batchSize: B, seqLen, inputIds, lengths, labels, ...(tokenTypes ? { tokenTypes } : {}) };
}

/**
 * Language-model batch from variable-length sequences (sentences, documents): each row is
 * `[bos?, ...ids, eos?]` shifted by one, inputs = all but the last, labels = all but the first.
 * For fixed windows over one long stream use `lmWindows` / `sampleLmBatch` (text.ts).
 */
export function makeLmBatch(
  sequences: readonly (readonly number[])[],
  ids: { pad: number; bos?: number; eos?: number },
  opts: LmBatchOptions = {},
): LmBatch {
  const { maxLen, padTo = 'longest', truncate = false } = opts;
  checkNonEmpty(sequences.length);
  const limit = limitOf('maxLen', maxLen, padTo, 1);
  const rows = sequences.map((seq, i) => {
    const tokens = [...(ids.bos === undefined ? [] : [ids.bos]), ...seq, ...(ids.eos === undefined ? [] : [ids.eos])];
    if (tokens.length < 2) throw new DataError(`example ${i}: needs at least 2 tokens (with bos/eos) to predict one, got ${tokens.length}`);
    return fit(tokens, -1, limit, truncate, i, 'input');
  });
  const seqLen = rowLength(rows.map((r) => r.length - 1), padTo, limit);
  const B = sequences.length;
  const inputIds = new Int32Array(B * seqLen).fill(ids.pad); // [B, seqLen]
  const labels = new Int32Array(B * seqLen).fill(ids.pad); // [B, seqLen]
  const lengths = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    const row = rows[b]!;
    inputIds.set(row.slice(0, -1), b * seqLen);
    labels.set(row.slice(1), b * seqLen);
    lengths[b] = row.length - 1;
  }
  return { batchSize: B, seqLen, inputIds, labels, lengths };
}

/** The longest row a batch accepts, and the option that set it (for messages). */
interface Limit {
  value: number;
  name: string;
}

function checkNonEmpty(n: number): void {
  if (n === 0) throw new DataError('cannot make a batch of 0 examples');
}

/** The tighter of a max*Len option and a numeric padTo. */
function limitOf(maxName: string, max: number | undefined, padTo: PadTo, min: number): Limit | undefined {
  if (max !== undefined && (!Number.isInteger(max) || max < min)) {
    throw new ConfigError(maxName, `must be an integer >= ${min}, got ${max}`);
  }
  if (typeof padTo === 'number') {
    if (!Number.isInteger(padTo) || padTo < min) throw new ConfigError('padTo', `must be an integer >= ${min}, got ${padTo}`);
    if (max === undefined || padTo < max) return { value: padTo, name: 'padTo' };
  } else if (padTo !== 'longest' && padTo !== 'max') {
    throw new ConfigError('padTo', `must be 'longest', 'max' or an integer, got ${JSON.stringify(padTo)}`);
  } else if (padTo === 'max' && max === undefined) {
    throw new ConfigError('padTo', `'max' needs ${maxName} to be set`);
  }
  return max === undefined ? undefined : { value: max, name: maxName };
}

/**
 * Returns `ids` if its row length (`ids.length + extra`) is within the limit; else cuts it
 * when `truncate`, or throws naming the example and the limit.
 */
function fit(ids: readonly number[], extra: number, limit: Limit | undefined, truncate: boolean, index: number, what: string): readonly number[] {
  const length = ids.length + extra;
  if (limit === undefined || length <= limit.value) return ids;
  if (truncate) return ids.slice(0, limit.value - extra);
  throw new DataError(`example ${index}: ${what} is ${length} tokens, over ${limit.name} = ${limit.value} (pass truncate: true to cut it)`);
}

function rowLength(lengths: readonly number[], padTo: PadTo, limit: Limit | undefined): number {
  if (padTo === 'longest') return lengths.reduce((a, b) => Math.max(a, b), 0);
  return typeof padTo === 'number' ? padTo : limit!.value;
}

// ---------------------------------------------------------------------------------------
// Iterating over a dataset in batches

export interface BatchIteratorOptions<T> {
  /** Shuffle the items each epoch. Default false. */
  shuffle?: boolean;
  /** Seed of the shuffles; epoch e uses a stream derived from (seed, e). Default 0. */
  seed?: number;
  /** Leave out the last, smaller batch. Default false. */
  dropLast?: boolean;
  /** Number of the first epoch (to resume a run with the same order it would have had). Default 0. */
  startEpoch?: number;
  /**
   * Length bucketing: after the shuffle, items are cut into chunks of `bucketSize` batches,
   * each chunk is sorted by this length, cut into batches, and (when shuffling) the order of
   * all batches is shuffled. Rows of a batch then have similar lengths, so less padding,
   * while batches stay random. Default: no bucketing.
   */
  lengthOf?: (item: T) => number;
  /** Batches per bucketing chunk; default 50. Larger = less padding, less randomness. */
  bucketSize?: number;
}

/**
 * Batches of items. The result can be iterated many times: each iteration is one epoch,
 * and with `shuffle` each epoch has its own (seeded, reproducible) order.
 */
export function batchIterator<T>(items: readonly T[], batchSize: number, opts: BatchIteratorOptions<T> = {}): Iterable<T[]> {
  const { shuffle = false, seed = 0, dropLast = false, startEpoch = 0, lengthOf, bucketSize = 50 } = opts;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new ConfigError('batchSize', `must be an integer >= 1, got ${batchSize}`);
  if (!Number.isInteger(seed)) throw new ConfigError('seed', `must be an integer, got ${seed}`);
  if (!Number.isInteger(startEpoch) || startEpoch < 0) throw new ConfigError('startEpoch', `must be an integer >= 0, got ${startEpoch}`);
  if (!Number.isInteger(bucketSize) || bucketSize < 1) throw new ConfigError('bucketSize', `must be an integer >= 1, got ${bucketSize}`);
  let epoch = startEpoch;
  return {
    [Symbol.iterator]: () => {
      const rng = createRng((seed ^ Math.imul(epoch + 1, 0x9e3779b1)) >>> 0);
      epoch++;
      const order = items.map((_, i) => i);
      if (shuffle) rng.shuffle(order);
      const batches: number[][] = [];
      const chunk = lengthOf ? batchSize * bucketSize : order.length;
      for (let start = 0; start < order.length; start += chunk) {
        const part = order.slice(start, start + chunk);
        if (lengthOf) {
          const lengths = new Map(part.map((i) => [i, lengthOf(items[i]!)]));
          part.sort((a, b) => lengths.get(a)! - lengths.get(b)! || a - b);
        }
        for (let b = 0; b < part.length; b += batchSize) batches.push(part.slice(b, b + batchSize));
      }
      if (dropLast) {
        const short = batches.findIndex((batch) => batch.length < batchSize);
        if (short >= 0) batches.splice(short, 1);
      }
      if (shuffle && lengthOf) rng.shuffle(batches);
      return batches.map((batch) => batch.map((i) => items[i]!))[Symbol.iterator]();
    },
  };
}
