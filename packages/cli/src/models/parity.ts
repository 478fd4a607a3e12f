// The parts of the parity check of `attend export` that several kinds share: seeded token rows, the tfjs
// logits, and the largest difference.

import { createRng, type TokenFields } from '@attend/core';
import type { AttendModel, TokenBatch } from '@attend/transformer';

/** The lengths of the three seeded rows compared (≤ 8 tokens), and the longest. */
export function parityLengths(maxSeqLen: number): { T: number; lengths: number[] } {
  const T = Math.min(8, maxSeqLen);
  return { T, lengths: [T, Math.max(1, T - 3), Math.max(1, T - 5)] };
}

/** Random rows of real tokens (no special ids where the vocabulary allows), right-padded with `lengths`. */
export function randomRows(config: TokenFields, seed: number, lengths: number[]): TokenBatch {
  const rng = createRng(seed);
  const first = config.vocabSize > 8 ? 4 : 0; // past pad, bos, eos, unk
  const seqLen = lengths.reduce((a, b) => Math.max(a, b), 0);
  const ids = new Int32Array(lengths.length * seqLen).fill(config.padTokenId);
  lengths.forEach((n, b) => {
    for (let t = 0; t < n; t++) ids[b * seqLen + t] = first + rng.int(config.vocabSize - first);
  });
  return { ids, batchSize: lengths.length, seqLen, lengths: Int32Array.from(lengths) };
}

/** Seeded source rows of `lengths` and full target rows of T tokens that start with bos (encoder–decoders). */
export function sourceAndTarget(config: TokenFields & { maxSeqLen: number }): { source: TokenBatch; target: TokenBatch; T: number } {
  const { T, lengths } = parityLengths(config.maxSeqLen);
  const source = randomRows(config, 1, lengths);
  const target = randomRows(config, 2, lengths.map(() => T));
  target.ids.forEach((_, i) => i % T === 0 && (target.ids[i] = config.bosTokenId));
  return { source, target, T };
}

/** The checkpoint's logits of `input` (and `target`, encoder–decoders). */
export function tfjsLogits(model: AttendModel, input: TokenBatch, target?: TokenBatch): Float32Array {
  const { logits } = model.forward(input, target);
  const values = logits.dataSync() as Float32Array;
  logits.dispose();
  return values;
}

/** Largest |a − b|; the two must be as long. */
export function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`parity: ${a.length} tfjs logits but ${b.length} from onnxruntime`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
