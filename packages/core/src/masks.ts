// Attention masks as pure functions over plain arrays. A mask says which keys a query may
// attend to (1 = allowed, 0 = masked); masked scores are replaced by a large negative number
// before the softmax — the "masked softmax" of the seeds and of Vaswani et al. §3.2.3.
// Every backend (tfjs, ONNX graphs, the playground) follows these definitions.

import { ShapeError } from './errors.js';

/** Added to masked scores. Finite, so a fully masked row gives a uniform (not NaN) softmax. */
export const MASKED_SCORE = -1e9;

export interface MaskSpec {
  batchSize: number;
  queryLen: number;
  keyLen: number;
  /** Valid key lengths per batch row (padding mask); keys at j >= length are masked. */
  keyLengths?: ArrayLike<number>;
  /** Query i may see key j only if j <= i + queryOffset (decoder self-attention). */
  causal?: boolean;
  /** Band mask: query i sees key j only if |(i + queryOffset) - j| <= localWindow. */
  localWindow?: number | null;
  /** Absolute position of the first query (for decoding with a key/value cache). Default 0. */
  queryOffset?: number;
}

/** Causal ("subsequent") mask [T, T]: position i sees positions 0..i. */
export function causalMask(size: number): Uint8Array {
  return attentionMask({ batchSize: 1, queryLen: size, keyLen: size, causal: true });
}

/** Padding mask [B, T] from valid lengths: 1 for j < lengths[b]. */
export function paddingMask(lengths: ArrayLike<number>, seqLen: number): Uint8Array {
  const out = new Uint8Array(lengths.length * seqLen);
  for (let b = 0; b < lengths.length; b++) {
    const n = checkLength(lengths[b]!, seqLen, b);
    out.fill(1, b * seqLen, b * seqLen + n);
  }
  return out;
}

/** Local-window band mask [Tq, Tk]: |i + offset - j| <= window. */
export function localWindowMask(queryLen: number, keyLen: number, window: number, queryOffset = 0): Uint8Array {
  return attentionMask({ batchSize: 1, queryLen, keyLen, localWindow: window, queryOffset });
}

/**
 * The combination of padding, causal and local-window masks, [B, Tq, Tk] row-major.
 * Masks combine by logical AND: a key is visible only if every mask allows it.
 */
export function attentionMask(spec: MaskSpec): Uint8Array {
  const { batchSize: B, queryLen: Tq, keyLen: Tk, keyLengths, causal = false, localWindow = null, queryOffset = 0 } = spec;
  for (const [name, value] of [['batchSize', B], ['queryLen', Tq], ['keyLen', Tk], ['queryOffset', queryOffset]] as const) {
    if (!Number.isInteger(value) || value < 0) throw new ShapeError(`attentionMask: ${name} must be a non-negative integer, got ${value}`);
  }
  if (keyLengths !== undefined && keyLengths.length !== B) {
    throw new ShapeError(`attentionMask: keyLengths has ${keyLengths.length} entries for batchSize ${B}`);
  }
  if (localWindow !== null && (!Number.isInteger(localWindow) || localWindow < 0)) {
    throw new ShapeError(`attentionMask: localWindow must be a non-negative integer or null, got ${localWindow}`);
  }
  const out = new Uint8Array(B * Tq * Tk);
  for (let b = 0; b < B; b++) {
    const valid = keyLengths === undefined ? Tk : checkLength(keyLengths[b]!, Tk, b);
    for (let i = 0; i < Tq; i++) {
      const pos = i + queryOffset;
      let lo = 0;
      let hi = valid; // exclusive
      if (causal) hi = Math.min(hi, pos + 1);
      if (localWindow !== null) {
        lo = Math.max(lo, pos - localWindow);
        hi = Math.min(hi, pos + localWindow + 1);
      }
      if (hi > lo) out.fill(1, (b * Tq + i) * Tk + lo, (b * Tq + i) * Tk + hi);
    }
  }
  return out;
}

/** Turns a 0/1 mask into an additive score bias: 0 where allowed, MASKED_SCORE where masked. */
export function maskToBias(mask: Uint8Array, masked = MASKED_SCORE): Float32Array {
  const out = new Float32Array(mask.length);
  for (let i = 0; i < mask.length; i++) out[i] = mask[i] ? 0 : masked;
  return out;
}

function checkLength(length: number, max: number, row: number): number {
  if (!Number.isInteger(length) || length < 0 || length > max) {
    throw new ShapeError(`valid length of batch row ${row} is ${length}; expected an integer in [0, ${max}]`);
  }
  return length;
}
