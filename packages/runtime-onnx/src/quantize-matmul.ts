// Quantized MatMuls that compute in integers on ONNX Runtime's CPU (ModelProto bytes in, bytes
// out), beside quantize.ts's int8 weights (DequantizeLinear → fp32 MatMul):
//
// - 'int8-dynamic': each MatMul by a weight W [K, N] becomes com.microsoft
//   `DynamicQuantizeMatMul(A, W_quantized, W_scale, W_zero_point)`: W symmetric int8 with one
//   scale per output column (quantize.ts's quantizeSymmetric), A quantized to uint8 per call
//   (per tensor, asymmetric) inside the op, products summed in int32.
// - 'int4': each becomes com.microsoft `MatMulNBits(A, W_packed, W_scales)` with bits 4,
//   block_size 32 and accuracy_level 4 (int8 activations; ONNX Runtime's fast CPU path — see
//   onnxruntime issue 23004): W transposed to [N, K], each block of 32 values along K with
//   scale max|w| / 7 and values round(w / scale) + 8 in [1, 15] (the op's default zero point
//   8), two per byte, the lower index in the low nibble; K padded with zeros to whole blocks.
//
// Which weights: rank-2 float initializers of at least `minElements` values read only as input
// 1 of MatMul nodes (the Linear weights and an untied LM head), in the main graph and in `If`
// branches; and a tied LM head, a MatMul by a Transpose [1, 0] of the embedding table (unless
// `tiedHead` is false): the head gets its own quantized copy of the transposed table, and the
// table stays float32 for the embedding Gather (the file grows by that copy; at GPT-2's size
// the head is a quarter of a decode step's weight reads). Embedding tables, biases, LayerNorm
// parameters and per-head score weights stay float32. These ops exist in onnxruntime-node (CPU)
// and onnxruntime-web; they are not standard ONNX.

import { MS_DOMAIN } from './onnx/graph.js';
import { encodeModel, type DataTypeCode, type GraphProto, type ModelProto, type NodeProto, type TensorProto } from './onnx/proto.js';
import { allNodes, decodeModel, QUANTIZATION_METADATA_KEY, quantizeSymmetric } from './quantize.js';

const FLOAT = 1 as DataTypeCode;
const UINT8 = 2 as DataTypeCode;
const INT8 = 3 as DataTypeCode;

export type MatMulQuantization = 'int8-dynamic' | 'int4';

export interface QuantizeMatMulOptions {
  /** Smallest weight (in values) worth quantizing; default 1024. */
  minElements?: number;
  /** 'int4' only: MatMulNBits' block layout and compute type (see `Int4Options`). */
  int4?: Int4Options;
  /** Quantize a tied LM head too, as its own copy of the transposed embedding table (see the top of this file); default true. */
  tiedHead?: boolean;
}

/** MatMulNBits variants of 'int4' (bench/int4-matmul.mjs measures them). */
export interface Int4Options {
  /** Values per block along K, each block with its own scale: 16, 32, 64, 128 or 256; default 32. */
  blockSize?: number;
  /** MatMulNBits' accuracy_level: 0 (unset) and 1 fp32, 2 fp16, 3 bf16, 4 int8 activations; default 4. */
  accuracyLevel?: number;
  /** Asymmetric blocks (min..max over 0..15, a uint8 zero_points input) instead of symmetric (zero point 8, no input); default false. */
  zeroPoints?: boolean;
}

/** The default 4-bit block size along K and MatMulNBits' accuracy_level (int8 activations). */
export const INT4_BLOCK = 32;
export const INT4_ACCURACY_LEVEL = 4;
const INT4_BLOCK_SIZES = [16, 32, 64, 128, 256];

/** `options` with defaults, checked. */
function int4Options(options: Int4Options = {}): Required<Int4Options> {
  const o = { blockSize: options.blockSize ?? INT4_BLOCK, accuracyLevel: options.accuracyLevel ?? INT4_ACCURACY_LEVEL, zeroPoints: options.zeroPoints ?? false };
  if (!INT4_BLOCK_SIZES.includes(o.blockSize)) throw new Error(`int4.blockSize: ${o.blockSize} is not supported; use ${INT4_BLOCK_SIZES.join(', ')}`);
  if (!Number.isInteger(o.accuracyLevel) || o.accuracyLevel < 0 || o.accuracyLevel > 4) throw new Error(`int4.accuracyLevel: ${o.accuracyLevel} is not supported; use 0, 1, 2, 3 or 4`);
  return o;
}

/** A copy of the ONNX model `bytes` with its MatMul weights quantized by `scheme` (see the top of this file). */
export function quantizeMatMuls(bytes: Uint8Array, scheme: MatMulQuantization, options: QuantizeMatMulOptions = {}): Uint8Array {
  const model = decodeModel(bytes);
  if (model.metadata[QUANTIZATION_METADATA_KEY] !== undefined) throw new Error('the model is already quantized');
  const minElements = options.minElements ?? 1024;
  const int4 = int4Options(options.int4);
  const g = model.graph;
  const uses = new Map<string, number>();
  const matMulUses = new Map<string, number>();
  for (const n of allNodes(g)) {
    n.inputs.forEach((input, i) => {
      uses.set(input, (uses.get(input) ?? 0) + 1);
      if (n.opType === 'MatMul' && (n.domain ?? '') === '' && i === 1) matMulUses.set(input, (matMulUses.get(input) ?? 0) + 1);
    });
  }
  // MatMul weight (input 1) → the float weight it quantizes.
  const chosen = new Map<string, TensorProto>();
  const quantizable = (t: TensorProto | undefined): t is TensorProto => t !== undefined && t.dataType === FLOAT && t.dims.length === 2 && t.dims.reduce((a, b) => a * b, 1) >= minElements;
  for (const t of g.initializers) if (quantizable(t) && uses.get(t.name) === matMulUses.get(t.name)) chosen.set(t.name, t);
  // Tied heads: Transpose [1, 0] nodes of a table, read only as MatMul weights; they go, and
  // their MatMuls share one quantized copy of the transposed table.
  const heads = new Set<NodeProto>();
  const copies = new Map<string, TensorProto>();
  if (options.tiedHead ?? true) {
    const byName = new Map(g.initializers.map((t) => [t.name, t]));
    for (const n of allNodes(g)) {
      const table = byName.get(n.inputs[0] ?? '');
      const perm = n.attributes.perm;
      const swaps = perm === undefined || (perm.type === 'ints' && perm.value.length === 2 && perm.value[0] === 1 && perm.value[1] === 0);
      const out = n.outputs[0]!;
      if (n.opType !== 'Transpose' || (n.domain ?? '') !== '' || !swaps || !quantizable(table) || !uses.get(out) || uses.get(out) !== matMulUses.get(out)) continue;
      if (!copies.has(table.name)) copies.set(table.name, transposed(table, `${table.name}_transposed`));
      chosen.set(out, copies.get(table.name)!);
      heads.add(n);
    }
  }
  const initializers = g.initializers.filter((t) => !chosen.has(t.name));
  const quantized = new Set(chosen.values());
  for (const t of quantized) initializers.push(...(scheme === 'int4' ? int4Tensors(t, int4) : int8Tensors(t)));
  const rewrite = (graph: GraphProto): GraphProto => ({
    ...graph,
    nodes: graph.nodes.filter((n) => !heads.has(n)).map((n) => {
      const nested = Object.fromEntries(Object.entries(n.attributes).map(([k, a]) => [k, a.type === 'graph' ? { type: 'graph' as const, value: rewrite(a.value) } : a]));
      const w = n.opType === 'MatMul' && (n.domain ?? '') === '' ? chosen.get(n.inputs[1]!) : undefined;
      if (!w) return { ...n, attributes: nested };
      return quantizedNode(n, w, scheme, int4);
    }),
  });
  const out: ModelProto = {
    ...model,
    opsetImports: model.opsetImports.some((o) => o.domain === MS_DOMAIN) ? model.opsetImports : [...model.opsetImports, { domain: MS_DOMAIN, version: 1 }],
    graph: { ...rewrite(g), initializers },
    metadata: { ...model.metadata, [QUANTIZATION_METADATA_KEY]: JSON.stringify({ scheme: schemeName(scheme, int4), minElements, tensors: quantized.size, tiedHeads: copies.size }) },
  };
  return encodeModel(out);
}

function schemeName(scheme: MatMulQuantization, int4: Required<Int4Options>): string {
  if (scheme === 'int8-dynamic') return 'int8 symmetric per-column weights, DynamicQuantizeMatMul (uint8 activations per call)';
  return `int4 weights in blocks of ${int4.blockSize}${int4.zeroPoints ? ' with zero points' : ''}, MatMulNBits accuracy_level ${int4.accuracyLevel}`;
}

function quantizedNode(n: NodeProto, w: TensorProto, scheme: MatMulQuantization, int4: Required<Int4Options>): NodeProto {
  const base = w.name;
  const [K, N] = w.dims as [number, number];
  if (scheme === 'int8-dynamic') {
    return { name: n.name, opType: 'DynamicQuantizeMatMul', domain: MS_DOMAIN, inputs: [n.inputs[0]!, `${base}_quantized`, `${base}_scale`, `${base}_zero_point`], outputs: n.outputs, attributes: {} };
  }
  return {
    name: n.name,
    opType: 'MatMulNBits',
    domain: MS_DOMAIN,
    inputs: [n.inputs[0]!, `${base}_quantized`, `${base}_scales`, ...(int4.zeroPoints ? [`${base}_zero_points`] : [])],
    outputs: n.outputs,
    attributes: {
      K: { type: 'int', value: K },
      N: { type: 'int', value: N },
      bits: { type: 'int', value: 4 },
      block_size: { type: 'int', value: int4.blockSize },
      accuracy_level: { type: 'int', value: int4.accuracyLevel },
    },
  };
}

/** int8 weight, per-column scale and zero zero points of W [K, N]. */
function int8Tensors(t: TensorProto): TensorProto[] {
  const [K, N] = t.dims as [number, number];
  const q = quantizeSymmetric(floats(t), K, N, 1);
  return [
    { name: `${t.name}_quantized`, dataType: INT8, dims: [K, N], rawData: new Uint8Array(q.data.buffer) },
    { name: `${t.name}_scale`, dataType: FLOAT, dims: [N], rawData: new Uint8Array(q.scales.buffer) },
    { name: `${t.name}_zero_point`, dataType: INT8, dims: [N], rawData: new Uint8Array(N) },
  ];
}

/** MatMulNBits' packed 4-bit weight [N, blocks, blockSize / 2], scales [N · blocks] and (asymmetric) zero points [N, ⌈blocks / 2⌉] of W [K, N]. */
function int4Tensors(t: TensorProto, o: Required<Int4Options>): TensorProto[] {
  const [K, N] = t.dims as [number, number];
  const { packed, scales, zeroPoints, blocks } = quantizeInt4(floats(t), K, N, o);
  return [
    { name: `${t.name}_quantized`, dataType: UINT8, dims: [N, blocks, o.blockSize / 2], rawData: packed },
    { name: `${t.name}_scales`, dataType: FLOAT, dims: [N * blocks], rawData: new Uint8Array(scales.buffer) },
    ...(zeroPoints ? [{ name: `${t.name}_zero_points`, dataType: UINT8, dims: [N, Math.ceil(blocks / 2)], rawData: zeroPoints }] : []),
  ];
}

/**
 * Blockwise 4-bit quantization of W [K, N] (row-major) along K, in MatMulNBits' layout, with the
 * largest |w − dequantized(w)|. Symmetric (default): scale max|w| / 7, values round(w / scale) + 8
 * in [1, 15] (the op's default zero point 8). Asymmetric (`zeroPoints`): scale (max − min) / 15
 * and zero point z = round(−min / scale) in [0, 15], values round(w / scale) + z in [0, 15];
 * the zero points two per byte along the blocks of a column, the lower block in the low nibble.
 * Values two per byte, the lower index in the low nibble; K padded with zeros to whole blocks.
 */
export function quantizeInt4(
  w: Float32Array,
  K: number,
  N: number,
  options: Int4Options = {},
): { packed: Uint8Array; scales: Float32Array; zeroPoints?: Uint8Array; blocks: number; maxError: number } {
  const { blockSize, zeroPoints: asymmetric } = int4Options(options);
  const blocks = Math.ceil(K / blockSize);
  const bytesPerBlock = blockSize / 2;
  const packed = new Uint8Array(N * blocks * bytesPerBlock);
  const scales = new Float32Array(N * blocks);
  const zpBytes = Math.ceil(blocks / 2);
  const zeroPoints = asymmetric ? new Uint8Array(N * zpBytes) : undefined;
  let maxError = 0;
  for (let n = 0; n < N; n++) {
    for (let b = 0; b < blocks; b++) {
      const k0 = b * blockSize;
      const k1 = Math.min(K, k0 + blockSize);
      let lo = 0; // the range includes 0, so the padding (0) is exact
      let hi = 0;
      for (let k = k0; k < k1; k++) {
        lo = Math.min(lo, w[k * N + n]!);
        hi = Math.max(hi, w[k * N + n]!);
      }
      const range = asymmetric ? hi - lo : Math.max(hi, -lo);
      const scale = range > 0 && Number.isFinite(range) ? Math.fround(range / (asymmetric ? 15 : 7)) : 1;
      const zero = asymmetric ? Math.max(0, Math.min(15, Math.round(-lo / scale))) : 8;
      scales[n * blocks + b] = scale;
      if (zeroPoints) zeroPoints[n * zpBytes + (b >> 1)]! |= b % 2 === 0 ? zero : zero << 4;
      for (let k = k0; k < k0 + blockSize; k++) {
        const v = k < k1 ? w[k * N + n]! : 0;
        const q = Math.max(0, Math.min(15, Math.round(v / scale) + zero));
        const byte = (n * blocks + b) * bytesPerBlock + ((k - k0) >> 1);
        packed[byte]! |= (k - k0) % 2 === 0 ? q : q << 4;
        if (k < k1) maxError = Math.max(maxError, Math.abs(v - Math.fround((q - zero) * scale)));
      }
    }
  }
  return { packed, scales, zeroPoints, blocks, maxError };
}

/** `t` [R, C] transposed to [C, R], as an initializer `name`. */
function transposed(t: TensorProto, name: string): TensorProto {
  const [R, C] = t.dims as [number, number];
  const x = floats(t);
  const y = new Float32Array(R * C);
  for (let r = 0; r < R; r++) for (let c = 0; c < C; c++) y[c * R + r] = x[r * C + c]!;
  return { name, dataType: FLOAT, dims: [C, R], rawData: new Uint8Array(y.buffer) };
}

/** A float32 initializer's values, read only: a view of its bytes when they are 4-byte aligned, else a copy. */
function floats(t: TensorProto): Float32Array {
  const raw = t.rawData;
  if (raw.byteOffset % 4 === 0) return new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
  return new Float32Array(new Uint8Array(raw).buffer); // a copy (a Node Buffer's slice() would be a view)
}
