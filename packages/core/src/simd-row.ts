// fast-exp.ts's exp sum for logSumExp in WebAssembly SIMD: the same table exp(−k/64) and cubic,
// two float64 lanes at a time, four float32 values per load, the two table entries of a pair
// fetched by scalar loads; and, over the same copy of a row, the indices of its values at or
// above a bound (beam search's candidates). The module is assembled here from its instructions
// (under 1 KB, so browsers compile it synchronously) and used where the engine validates SIMD
// (Node ≥ 16.4, current browsers); where it does not, or where compiling wasm is not allowed,
// `createSimdRow` gives undefined and callers use JavaScript.
//
// Per value v, as in fast-exp.ts: y = max·64 − v·64, z = y when y < LIMIT (else LIMIT, also for
// NaN), k = nearest(z) (ties to even: still |k − z| ≤ ½), term = table[k]·(1 + d(1/64 +
// d(1/(2·64²) + d/(6·64³)))) with d = k − z. Memory: the table from byte 0, then the row padded
// with −∞ to whole loads, then the indices found.

/** One float32 row at a time in the kernel's memory. */
export interface SimdRow {
  /** Copies `values[offset .. offset + length)` in, as the row the other calls read. */
  load(values: Float32Array, offset: number, length: number): void;
  /** Σ exp(v − max) over the row, max ≥ every value; each −∞ pad adds table[limit]. */
  expSum(max: number): number;
  /** The indices of the row's values ≥ bound, ascending (NaN is never ≥). */
  atLeast(bound: number): Int32Array;
}

// Opcodes used: core ones by value, SIMD ones after the 0xfd prefix (LEB128).
const LOCAL_GET = 0x20;
const LOCAL_SET = 0x21;
const LOCAL_TEE = 0x22;
const I32_CONST = 0x41;
const F64X2_SPLAT = [0xfd, 0x14];
const F64X2_ADD = [0xfd, 0xf0, 0x01];
const F64X2_SUB = [0xfd, 0xf1, 0x01];
const F64X2_MUL = [0xfd, 0xf2, 0x01];
const F64X2_PMIN = [0xfd, 0xf6, 0x01];
const F64X2_NEAREST = [0xfd, 0x94, 0x01];
const F64X2_PROMOTE_LOW_F32X4 = [0xfd, 0x5f];
const I32X4_TRUNC_SAT_F64X2_S_ZERO = [0xfd, 0xfc, 0x01];
const I32X4_SHL = [0xfd, 0xab, 0x01];
const F32X4_SPLAT = [0xfd, 0x13];
const F32X4_GE = [0xfd, 0x46];
const V128_ANY_TRUE = [0xfd, 0x53];
const V128_LOAD = [0xfd, 0x00, 2, 0];
const I32X4_EXTRACT_LANE = [0xfd, 0x1b];
const I32_ADD = 0x6a;
const I32_GE_U = 0x4f;
const IF = [0x04, 0x40];
const BR = 0x0c;
const BR_IF = 0x0d;
const END_BLOCK = 0x0b;

// Locals: parameters 0 start (byte address), 1 end, 2 max (f64); v128 3 max·64 in both lanes,
// 4 and 5 the sums of the low and high pairs of each load, 6 the four values, 7 y then d, 8 k,
// 9 k·8 as i32 lanes (table byte offsets).
const [START, END, MAX, TOP, LOW, HIGH, FOUR, D, K, KBYTES] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];

/** The instruction bytes of an f64x2 constant with both lanes `x`. */
function f64x2Const(x: number): number[] {
  const lane = new Uint8Array(new Float64Array([x]).buffer);
  return [0xfd, 0x0c, ...lane, ...lane];
}

/** Replaces the float64 pair v on the stack by its two terms exp(v − max) (see the file comment). */
function termsOfPair(steps: number, limit: number): number[] {
  return [
    ...f64x2Const(steps), ...F64X2_MUL, LOCAL_SET, D,
    LOCAL_GET, TOP, LOCAL_GET, D, ...F64X2_SUB, LOCAL_SET, D, // y
    ...f64x2Const(limit), LOCAL_GET, D, ...F64X2_PMIN, LOCAL_TEE, D, // z = y < limit ? y : limit
    ...F64X2_NEAREST, LOCAL_TEE, K, LOCAL_GET, D, ...F64X2_SUB, LOCAL_SET, D, // d = k − z
    ...f64x2Const(1 / (6 * steps ** 3)), LOCAL_GET, D, ...F64X2_MUL, ...f64x2Const(1 / (2 * steps ** 2)), ...F64X2_ADD,
    LOCAL_GET, D, ...F64X2_MUL, ...f64x2Const(1 / steps), ...F64X2_ADD,
    LOCAL_GET, D, ...F64X2_MUL, ...f64x2Const(1), ...F64X2_ADD,
    LOCAL_GET, K, ...I32X4_TRUNC_SAT_F64X2_S_ZERO, I32_CONST, 3, ...I32X4_SHL, LOCAL_SET, KBYTES,
    LOCAL_GET, KBYTES, 0xfd, 0x1b, 0, 0x2b, 3, 0, ...F64X2_SPLAT, // f64.load table[k₀], splat
    LOCAL_GET, KBYTES, 0xfd, 0x1b, 1, 0x2b, 3, 0, 0xfd, 0x22, 1, // f64.load table[k₁] into lane 1
    ...F64X2_MUL,
  ];
}

/** Unsigned LEB128. */
function leb(n: number): number[] {
  const out: number[] = [];
  do {
    const byte = n & 0x7f;
    n >>>= 7;
    out.push(n > 0 ? byte | 0x80 : byte);
  } while (n > 0);
  return out;
}

const section = (id: number, content: number[]): number[] => [id, ...leb(content.length), ...content];
const name = (s: string): number[] => [s.length, ...Array.from(s, (c) => c.charCodeAt(0))];

/** Loops while start < end, start += 16 after `body`: block, loop, exit test, body, step, back. */
function loopOverLoads(start: number, end: number, body: number[]): number[] {
  return [
    0x02, 0x40, 0x03, 0x40, LOCAL_GET, start, LOCAL_GET, end, I32_GE_U, BR_IF, 1,
    ...body,
    LOCAL_GET, start, I32_CONST, 16, I32_ADD, LOCAL_SET, start, BR, 0, END_BLOCK, END_BLOCK,
  ];
}

/** `expSum(start, end, max) → f64`: Σ exp(v − max) over the float32 values in [start, end), a multiple of 16 bytes. */
function expSumBody(steps: number, limit: number): number[] {
  const terms = termsOfPair(steps, limit);
  return [
    1, 7, 0x7b, // seven v128 locals
    LOCAL_GET, MAX, ...F64X2_SPLAT, ...f64x2Const(steps), ...F64X2_MUL, LOCAL_SET, TOP,
    ...loopOverLoads(START, END, [
      LOCAL_GET, START, ...V128_LOAD, LOCAL_SET, FOUR,
      LOCAL_GET, LOW, LOCAL_GET, FOUR, ...F64X2_PROMOTE_LOW_F32X4, ...terms, ...F64X2_ADD, LOCAL_SET, LOW,
      LOCAL_GET, HIGH, LOCAL_GET, FOUR, LOCAL_GET, FOUR, 0xfd, 0x0d, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7, // i8x16.shuffle: high half down
      ...F64X2_PROMOTE_LOW_F32X4, ...terms, ...F64X2_ADD, LOCAL_SET, HIGH,
    ]),
    LOCAL_GET, LOW, LOCAL_GET, HIGH, ...F64X2_ADD, LOCAL_TEE, FOUR,
    0xfd, 0x21, 0, LOCAL_GET, FOUR, 0xfd, 0x21, 1, 0xa0, // lane 0 + lane 1
    END_BLOCK,
  ];
}

/**
 * `atLeast(start, end, bound, out) → i32`: writes the index (from 0 at start) of every float32
 * value in [start, end) that is ≥ bound, ascending, as i32 from `out` on; returns the address
 * after the last one. Locals: 0 start, 1 end, 2 bound (f32), 3 out; 4 the index of the load's
 * first value; v128 5 bound in every lane, 6 the load's ≥ mask.
 */
function atLeastBody(): number[] {
  const [start, end, bound, out, index, bounds, mask] = [0, 1, 2, 3, 4, 5, 6];
  const lanes: number[] = [];
  for (let lane = 0; lane < 4; lane++) {
    lanes.push(
      LOCAL_GET, mask, ...I32X4_EXTRACT_LANE, lane, ...IF,
      LOCAL_GET, out, LOCAL_GET, index, I32_CONST, lane, I32_ADD, 0x36, 2, 0, // i32.store
      LOCAL_GET, out, I32_CONST, 4, I32_ADD, LOCAL_SET, out,
      END_BLOCK,
    );
  }
  return [
    2, 1, 0x7f, 2, 0x7b, // one i32 local, two v128
    LOCAL_GET, bound, ...F32X4_SPLAT, LOCAL_SET, bounds,
    ...loopOverLoads(start, end, [
      LOCAL_GET, start, ...V128_LOAD, LOCAL_GET, bounds, ...F32X4_GE, LOCAL_TEE, mask, ...V128_ANY_TRUE, ...IF, ...lanes, END_BLOCK,
      LOCAL_GET, index, I32_CONST, 4, I32_ADD, LOCAL_SET, index,
    ]),
    LOCAL_GET, out,
    END_BLOCK,
  ];
}

/** The module: `memory`, `expSum` and `atLeast`. */
export function rowModuleBytes(steps: number, limit: number): Uint8Array<ArrayBuffer> {
  const bodies = [expSumBody(steps, limit), atLeastBody()];
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [2, 0x60, 3, 0x7f, 0x7f, 0x7c, 1, 0x7c, 0x60, 4, 0x7f, 0x7f, 0x7d, 0x7f, 1, 0x7f]), // (i32, i32, f64) → f64; (i32, i32, f32, i32) → i32
    ...section(3, [2, 0, 1]),
    ...section(5, [1, 0, 1]), // memory, one page to start
    ...section(7, [3, ...name('memory'), 2, 0, ...name('expSum'), 0, 0, ...name('atLeast'), 0, 1]),
    ...section(10, [2, ...bodies.flatMap((body) => [...leb(body.length), ...body])]),
  ]);
}

/**
 * The SIMD row kernel over `table` (exp(−k/steps) for k = 0 … limit), or undefined where
 * WebAssembly SIMD cannot run. Its memory holds the table, the longest row loaded so far and
 * room for as many indices.
 */
export function createSimdRow(table: Float64Array, steps: number): SimdRow | undefined {
  try {
    const bytes = rowModuleBytes(steps, table.length - 1);
    if (typeof WebAssembly === 'undefined' || !WebAssembly.validate(bytes)) return undefined;
    const { exports } = new WebAssembly.Instance(new WebAssembly.Module(bytes));
    const memory = exports.memory as WebAssembly.Memory;
    const expSum = exports.expSum as (start: number, end: number, max: number) => number;
    const atLeast = exports.atLeast as (start: number, end: number, bound: number, out: number) => number;
    const rowStart = Math.ceil(table.byteLength / 16) * 16;
    const reserve = (bytes: number): void => {
      const missing = bytes - memory.buffer.byteLength;
      if (missing > 0) memory.grow(Math.ceil(missing / 65536));
    };
    reserve(rowStart);
    new Float64Array(memory.buffer, 0, table.length).set(table);
    let length = 0;
    let rowEnd = rowStart;
    return {
      load(values, offset, n) {
        // Padded with −∞ to whole loads; the pads' terms are table[limit] (e^-128 for fast-exp's table).
        const padded = Math.ceil(n / 4) * 4;
        rowEnd = rowStart + padded * 4;
        reserve(rowEnd + padded * 4);
        const row = new Float32Array(memory.buffer, rowStart, padded);
        row.set(values.subarray(offset, offset + n));
        row.fill(-Infinity, n);
        length = n;
      },
      expSum: (max) => expSum(rowStart, rowEnd, max),
      atLeast(bound) {
        const end = atLeast(rowStart, rowEnd, bound, rowEnd);
        const found = new Int32Array(memory.buffer, rowEnd, (end - rowEnd) / 4);
        let count = found.length;
        while (count > 0 && found[count - 1]! >= length) count -= 1; // pads, when bound is −∞
        return found.slice(0, count);
      },
    };
  } catch {
    return undefined;
  }
}
