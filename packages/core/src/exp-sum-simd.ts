// fast-exp.ts's exp sum for logSumExp in WebAssembly SIMD: the same table exp(−k/64) and cubic,
// two float64 lanes at a time, four float32 values per load, the two table entries of a pair
// fetched by scalar loads. The module is assembled here from its instructions (under 1 KB, so
// browsers compile it synchronously) and used where the engine validates SIMD (Node ≥ 16.4,
// current browsers); where it does not, or where compiling wasm is not allowed,
// `createSimdExpSum` gives undefined and fast-exp.ts sums in JavaScript.
//
// Per value v, as in fast-exp.ts: y = max·64 − v·64, z = y when y < LIMIT (else LIMIT, also for
// NaN), k = nearest(z) (ties to even: still |k − z| ≤ ½), term = table[k]·(1 + d(1/64 +
// d(1/(2·64²) + d/(6·64³)))) with d = k − z. Memory: the table from byte 0, then the row.

/** Σ exp(values[i] − max) over `values[offset .. offset + length)`, max ≥ every value. */
export type ExpSum = (values: Float32Array, offset: number, length: number, max: number) => number;

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

/** The module: `memory` and `expSum(start, end, max) → f64` over the float32 values in [start, end), a multiple of 16 bytes. */
export function expSumModuleBytes(steps: number, limit: number): Uint8Array<ArrayBuffer> {
  const terms = termsOfPair(steps, limit);
  const code = [
    1, 7, 0x7b, // seven v128 locals
    LOCAL_GET, MAX, ...F64X2_SPLAT, ...f64x2Const(steps), ...F64X2_MUL, LOCAL_SET, TOP,
    0x02, 0x40, 0x03, 0x40, // block, loop
    LOCAL_GET, START, LOCAL_GET, END, 0x4f, 0x0d, 1, // i32.ge_u, br_if out of the block
    LOCAL_GET, START, 0xfd, 0x00, 2, 0, LOCAL_SET, FOUR, // v128.load
    LOCAL_GET, LOW, LOCAL_GET, FOUR, ...F64X2_PROMOTE_LOW_F32X4, ...terms, ...F64X2_ADD, LOCAL_SET, LOW,
    LOCAL_GET, HIGH, LOCAL_GET, FOUR, LOCAL_GET, FOUR, 0xfd, 0x0d, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7, // i8x16.shuffle: high half down
    ...F64X2_PROMOTE_LOW_F32X4, ...terms, ...F64X2_ADD, LOCAL_SET, HIGH,
    LOCAL_GET, START, I32_CONST, 16, 0x6a, LOCAL_SET, START, // start += 16
    0x0c, 0, 0x0b, 0x0b, // br to the loop, end loop, end block
    LOCAL_GET, LOW, LOCAL_GET, HIGH, ...F64X2_ADD, LOCAL_TEE, FOUR,
    0xfd, 0x21, 0, LOCAL_GET, FOUR, 0xfd, 0x21, 1, 0xa0, // lane 0 + lane 1
    0x0b,
  ];
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, 3, 0x7f, 0x7f, 0x7c, 1, 0x7c]), // (i32, i32, f64) → f64
    ...section(3, [1, 0]),
    ...section(5, [1, 0, 1]), // memory, one page to start
    ...section(7, [2, ...name('memory'), 2, 0, ...name('expSum'), 0, 0]),
    ...section(10, [1, ...leb(code.length), ...code]),
  ]);
}

/**
 * The SIMD exp sum over `table` (exp(−k/steps) for k = 0 … limit), or undefined where
 * WebAssembly SIMD cannot run. Its memory holds the table and the longest row summed so far.
 */
export function createSimdExpSum(table: Float64Array, steps: number): ExpSum | undefined {
  try {
    const bytes = expSumModuleBytes(steps, table.length - 1);
    if (typeof WebAssembly === 'undefined' || !WebAssembly.validate(bytes)) return undefined;
    const { exports } = new WebAssembly.Instance(new WebAssembly.Module(bytes));
    const memory = exports.memory as WebAssembly.Memory;
    const expSum = exports.expSum as (start: number, end: number, max: number) => number;
    const rowStart = Math.ceil(table.byteLength / 16) * 16;
    const reserve = (bytes: number): void => {
      const missing = bytes - memory.buffer.byteLength;
      if (missing > 0) memory.grow(Math.ceil(missing / 65536));
    };
    reserve(rowStart);
    new Float64Array(memory.buffer, 0, table.length).set(table);
    return (values, offset, length, max) => {
      // The row, padded with −∞ to whole loads: each pad adds table[limit] (e^-128 for
      // fast-exp's table), nothing next to max's own term of 1.
      const padded = Math.ceil(length / 4) * 4;
      reserve(rowStart + padded * 4);
      const row = new Float32Array(memory.buffer, rowStart, padded);
      row.set(values.subarray(offset, offset + length));
      row.fill(-Infinity, length);
      return expSum(rowStart, rowStart + padded * 4, max);
    };
  } catch {
    return undefined;
  }
}
