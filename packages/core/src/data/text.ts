// Language-model data over one long stream of token ids, as in nanoGPT's `get_batch`:
// a window of T + 1 tokens gives T inputs and their T next tokens. Training samples
// windows at random offsets; evaluation walks fixed windows (`lmWindows`).

import { ConfigError, DataError } from '../errors.js';
import type { Rng } from '../random.js';
import type { LmBatch } from './batching.js';

/** T inputs and their T next tokens. */
export interface LmWindow {
  inputIds: Int32Array;
  labels: Int32Array;
}

export interface LmWindowOptions {
  /** T, the number of input tokens per window. */
  contextLength: number;
  /** Distance between window starts; default contextLength (windows do not overlap). */
  stride?: number;
}

/**
 * Windows at offsets 0, stride, 2·stride, … that fit whole in the stream (a tail shorter
 * than a window is left out). The windows are views into one copy of `ids`: read, don't write.
 */
export function lmWindows(ids: Int32Array | readonly number[], opts: LmWindowOptions): LmWindow[] {
  const T = checkContextLength(opts.contextLength);
  const stride = opts.stride ?? T;
  if (!Number.isInteger(stride) || stride < 1) throw new ConfigError('stride', `must be an integer >= 1, got ${stride}`);
  const stream = Int32Array.from(ids);
  checkStreamLength(stream.length, T);
  const windows: LmWindow[] = [];
  for (let start = 0; start + T + 1 <= stream.length; start += stride) {
    windows.push({ inputIds: stream.subarray(start, start + T), labels: stream.subarray(start + 1, start + T + 1) });
  }
  return windows;
}

/** Stacks windows of equal length into one batch (every row fully valid). */
export function stackLmWindows(windows: readonly LmWindow[]): LmBatch {
  const first = windows[0];
  if (first === undefined) throw new DataError('cannot make a batch of 0 windows');
  const T = first.inputIds.length;
  const B = windows.length;
  const inputIds = new Int32Array(B * T); // [B, T]
  const labels = new Int32Array(B * T); // [B, T]
  windows.forEach((w, b) => {
    if (w.inputIds.length !== T || w.labels.length !== T) {
      throw new DataError(`window ${b}: has ${w.inputIds.length} inputs and ${w.labels.length} labels, expected ${T} of each`);
    }
    inputIds.set(w.inputIds, b * T);
    labels.set(w.labels, b * T);
  });
  return { batchSize: B, seqLen: T, inputIds, labels, lengths: new Int32Array(B).fill(T) };
}

export interface SampleLmBatchOptions {
  batchSize: number;
  /** T, the number of input tokens per row. */
  contextLength: number;
  /** Source of the random offsets (`createRng(seed)`); advanced by batchSize draws. */
  rng: Rng;
}

/** B windows at uniform random offsets (nanoGPT `get_batch`); labels are the inputs shifted by one. */
export function sampleLmBatch(ids: Int32Array | readonly number[], opts: SampleLmBatchOptions): LmBatch {
  const { batchSize: B, rng } = opts;
  const T = checkContextLength(opts.contextLength);
  if (!Number.isInteger(B) || B < 1) throw new ConfigError('batchSize', `must be an integer >= 1, got ${B}`);
  checkStreamLength(ids.length, T);
  const inputIds = new Int32Array(B * T); // [B, T]
  const labels = new Int32Array(B * T); // [B, T]
  const numOffsets = ids.length - T; // last start whose T + 1 tokens fit is length - T - 1
  for (let b = 0; b < B; b++) {
    const start = rng.int(numOffsets);
    for (let t = 0; t < T; t++) {
      inputIds[b * T + t] = ids[start + t]!;
      labels[b * T + t] = ids[start + t + 1]!;
    }
  }
  return { batchSize: B, seqLen: T, inputIds, labels, lengths: new Int32Array(B).fill(T) };
}

/**
 * Splits a corpus into its first `trainFraction` (train) and the rest (val), like nanoGPT's
 * 90/10 split of Tiny Shakespeare. The cut never falls inside a UTF-16 surrogate pair.
 */
export function splitText(text: string, trainFraction = 0.9): { train: string; val: string } {
  if (!(trainFraction > 0 && trainFraction < 1)) {
    throw new ConfigError('trainFraction', `must be a number strictly between 0 and 1, got ${trainFraction}`);
  }
  let cut = Math.floor(text.length * trainFraction);
  const code = text.charCodeAt(cut);
  if (code >= 0xdc00 && code <= 0xdfff && cut > 0) cut--; // do not split a surrogate pair
  return { train: text.slice(0, cut), val: text.slice(cut) };
}

function checkContextLength(T: number): number {
  if (!Number.isInteger(T) || T < 1) throw new ConfigError('contextLength', `must be an integer >= 1, got ${T}`);
  return T;
}

function checkStreamLength(length: number, T: number): void {
  if (length < T + 1) {
    throw new DataError(`token stream of ${length} ids is too short for contextLength ${T} (needs at least ${T + 1})`);
  }
}
