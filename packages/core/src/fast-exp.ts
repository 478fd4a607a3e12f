// exp(x) for the x ≤ 0 of softmax sums (logit − max), about 3× faster than Math.exp in V8 and
// as accurate to within a few units in the last place: x = −k/64 + r with |r| ≤ 1/128, exp(−k/64)
// from a table, exp(r) by its Taylor polynomial to r⁵ (truncation below 4·10⁻¹⁶ relative).
// Other x (positive, below −128, NaN) go to Math.exp.
// `logSumExp` (beam search's normaliser) trades the last digits for speed: the same table with
// a cubic and no branch per value, in WebAssembly SIMD where the engine has it (simd-row.ts),
// else in JavaScript with two accumulators. Over a 50,257-logit row it costs about one argmax
// pass (SIMD) or two (JavaScript), where `sumExp` costs five.

import { createSimdRow, type SimdRow } from './simd-row.js';

const STEPS = 64;
const RANGE = 128;
const LIMIT = STEPS * RANGE;
const TABLE = Float64Array.from({ length: LIMIT + 1 }, (_, k) => Math.exp(-k / STEPS));

/** exp(x), from the table for −128 ≤ x ≤ 0 (relative error ≤ 1e-15), Math.exp otherwise. */
export function fastExp(x: number): number {
  const y = -x * STEPS;
  if (y >= 0 && y < LIMIT) {
    const k = (y + 0.5) | 0;
    const r = (k - y) / STEPS;
    return TABLE[k]! * (1 + r * (1 + r * (1 / 2 + r * (1 / 6 + r * (1 / 24 + r * (1 / 120))))));
  }
  return Math.exp(x);
}

/** Σ exp((values[i] − max) · scale) over `values[offset .. offset + length)`; `max` ≥ every value, scale > 0. */
export function sumExp(values: ArrayLike<number>, offset: number, length: number, max: number, scale = 1): number {
  let total = 0;
  for (let i = 0; i < length; i++) total += fastExp((values[offset + i]! - max) * scale);
  return total;
}

/** Relative error bound of `logSumExp`'s sum, proved in its doc comment (checked against Math.exp in the tests). */
export const LOG_SUM_EXP_ERROR = 2.5e-10;

/**
 * max + log Σ exp(values[i] − max) over `values[offset .. offset + length)`, `max` ≥ every
 * value (finite). The sum is good to LOG_SUM_EXP_ERROR relative, so the result to that much
 * absolute: with y = (max − v)·64 and k = round(y), exp(v − max) = exp(−k/64)·exp(r),
 * |r| = |k − y|/64 ≤ 1/128; the cubic Taylor polynomial of exp(r) errs by at most
 * r⁴/24·e^|r| ≤ 1.6e-10 relative, the table and the rounding of y and of the polynomial add
 * about 1e-14, and summing n positive terms at most n·2⁻⁵³ (6e-12 at n = 50,257). Values more
 * than 128 below max (−∞ included) count as exp(−128) ≈ 3e-56 (and the SIMD kernel adds up to
 * three such pads), within 3e-56·(length + 3) of the sum, which is at least 1 (max's own term).
 * A float32 row goes to the SIMD kernel where there is one (`simdRow`), anything else to
 * `jsExpSum`; either sums in a fixed order, so the result is a fixed function of the values.
 */
export function logSumExp(values: ArrayLike<number>, offset: number, length: number, max: number): number {
  const row = simdRow();
  if (row === undefined || !(values instanceof Float32Array)) return max + Math.log(jsExpSum(values, offset, length, max));
  row.load(values, offset, length);
  return max + Math.log(row.expSum(max));
}

let simd: SimdRow | undefined | null = null;

/** The WebAssembly SIMD row kernel over this table (logSumExp's sums, beam search's candidates), made on first use; undefined where it cannot run. */
export function simdRow(): SimdRow | undefined {
  if (simd === null) simd = createSimdRow(TABLE, STEPS);
  return simd;
}

const C1 = 1 / STEPS;
const C2 = 1 / (2 * STEPS ** 2);
const C3 = 1 / (6 * STEPS ** 3);

/** The exp sum of `logSumExp` in JavaScript: the terms in index order into two accumulators (even and odd indices). */
export function jsExpSum(values: ArrayLike<number>, offset: number, length: number, max: number): number {
  const top = max * STEPS;
  let even = 0;
  let odd = 0;
  let i = 0;
  for (; i + 1 < length; i += 2) {
    even += expBelow(top - values[offset + i]! * STEPS);
    odd += expBelow(top - values[offset + i + 1]! * STEPS);
  }
  if (i < length) even += expBelow(top - values[offset + i]! * STEPS);
  return even + odd;
}

/** exp(−y/64) for y ≥ 0 to 1.6e-10 relative (exp(−128) for y ≥ 128·64 and NaN); see logSumExp. */
function expBelow(y: number): number {
  const z = y < LIMIT ? y : LIMIT;
  const k = (z + 0.5) | 0;
  const d = k - z;
  return TABLE[k]! * (1 + d * (C1 + d * (C2 + d * C3)));
}
