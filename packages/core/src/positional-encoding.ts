// Position information as plain tables: the sinusoidal encoding of Vaswani et al. (2017,
// §3.5), rotary embeddings (RoPE, Su et al. 2021, in the "rotate half" layout used by
// GPT-NeoX/LLaMA) and ALiBi linear biases (Press et al. 2022). Backends upload these tables.

import { ShapeError } from './errors.js';
import type { PositionalEncoding } from './models/fields.js';

/**
 * PE[pos, 2i] = sin(pos / 10000^(2i/d)), PE[pos, 2i+1] = cos(pos / 10000^(2i/d)); [maxLen, dModel].
 * With `split` (Marian's table), the same values in another order: PE[pos, i] the sines and
 * PE[pos, d/2 + i] the cosines.
 */
export function sinusoidalTable(maxLen: number, dModel: number, split = false): Float32Array {
  if (dModel % 2 !== 0) throw new ShapeError(`sinusoidalTable: dModel must be even, got ${dModel}`);
  const half = dModel / 2;
  const out = new Float32Array(maxLen * dModel);
  for (let pos = 0; pos < maxLen; pos++) {
    for (let i = 0; i < half; i++) {
      const angle = pos / Math.pow(10000, (2 * i) / dModel);
      out[pos * dModel + (split ? i : 2 * i)] = Math.sin(angle);
      out[pos * dModel + (split ? half + i : 2 * i + 1)] = Math.cos(angle);
    }
  }
  return out;
}

/** The fixed position table [maxLen, dModel] of a sinusoidal `positional`, or undefined for learned, rotary and ALiBi positions. */
export function fixedPositionTable(positional: PositionalEncoding, maxLen: number, dModel: number): Float32Array | undefined {
  if (positional !== 'sinusoidal' && positional !== 'sinusoidal_split') return undefined;
  return sinusoidalTable(maxLen, dModel, positional === 'sinusoidal_split');
}

export interface RopeTables {
  /** [maxLen, headDim]: cos(pos·θ_i) for the first half, repeated for the second half. */
  cos: Float32Array;
  /** [maxLen, headDim]: sin(pos·θ_i), likewise repeated. */
  sin: Float32Array;
}

/** θ_i = base^(-2i/headDim) for i < headDim/2. */
export function ropeTables(maxLen: number, headDim: number, base = 10000): RopeTables {
  if (headDim % 2 !== 0) throw new ShapeError(`ropeTables: headDim must be even, got ${headDim}`);
  const half = headDim / 2;
  const cos = new Float32Array(maxLen * headDim);
  const sin = new Float32Array(maxLen * headDim);
  for (let pos = 0; pos < maxLen; pos++) {
    for (let i = 0; i < half; i++) {
      const angle = pos * Math.pow(base, (-2 * i) / headDim);
      const c = Math.cos(angle);
      const s = Math.sin(angle);
      cos[pos * headDim + i] = c;
      cos[pos * headDim + i + half] = c;
      sin[pos * headDim + i] = s;
      sin[pos * headDim + i + half] = s;
    }
  }
  return { cos, sin };
}

/**
 * Rotates vectors x [T, headDim] (row t at position offset + t) in place of a copy:
 * out = x·cos + rotateHalf(x)·sin, rotateHalf([a, b]) = [-b, a].
 */
export function applyRope(x: Float32Array, seqLen: number, headDim: number, tables: RopeTables, offset = 0): Float32Array {
  const half = headDim / 2;
  const out = new Float32Array(x.length);
  for (let t = 0; t < seqLen; t++) {
    const row = t * headDim;
    const tab = (t + offset) * headDim;
    for (let i = 0; i < headDim; i++) {
      const rotated = i < half ? -x[row + i + half]! : x[row + i - half]!;
      out[row + i] = x[row + i]! * tables.cos[tab + i]! + rotated * tables.sin[tab + i]!;
    }
  }
  return out;
}

/**
 * ALiBi head slopes: the geometric sequence 2^(-8/n), 2^(-16/n), … for n heads; for n not a
 * power of two, the slopes of the next lower power of two followed by every other slope of
 * the next higher one (Press et al., 2022, and their reference code's rule).
 */
export function alibiSlopes(numHeads: number): Float32Array {
  const powerOfTwo = (n: number): number[] => {
    const start = Math.pow(2, -8 / n);
    return Array.from({ length: n }, (_, i) => Math.pow(start, i + 1));
  };
  const lower = Math.pow(2, Math.floor(Math.log2(numHeads)));
  const slopes = powerOfTwo(lower);
  if (lower < numHeads) {
    const extra = powerOfTwo(2 * lower).filter((_, i) => i % 2 === 0);
    slopes.push(...extra.slice(0, numHeads - lower));
  }
  return Float32Array.from(slopes);
}

/** ALiBi score bias [H, Tq, Tk]: −slope_h · |i + queryOffset − j| (symmetric, so it serves encoders too). */
export function alibiBias(numHeads: number, queryLen: number, keyLen: number, queryOffset = 0): Float32Array {
  const slopes = alibiSlopes(numHeads);
  const out = new Float32Array(numHeads * queryLen * keyLen);
  for (let h = 0; h < numHeads; h++) {
    for (let i = 0; i < queryLen; i++) {
      for (let j = 0; j < keyLen; j++) {
        out[(h * queryLen + i) * keyLen + j] = -slopes[h]! * Math.abs(i + queryOffset - j);
      }
    }
  }
  return out;
}
