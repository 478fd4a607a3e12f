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
// branches. Embedding tables (Gather), the tied LM head (MatMul by a Transpose of the table),
// biases, LayerNorm parameters and per-head score weights stay float32. These ops exist in
// onnxruntime-node (CPU) and onnxruntime-web; they are not standard ONNX.

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
}

/** The 4-bit block size along K and MatMulNBits' accuracy_level (int8 activations). */
export const INT4_BLOCK = 32;
export const INT4_ACCURACY_LEVEL = 4;

/** A copy of the ONNX model `bytes` with its MatMul weights quantized by `scheme` (see the top of this file). */
export function quantizeMatMuls(bytes: Uint8Array, scheme: MatMulQuantization, options: QuantizeMatMulOptions = {}): Uint8Array {
  const model = decodeModel(bytes);
  if (model.metadata[QUANTIZATION_METADATA_KEY] !== undefined) throw new Error('the model is already quantized');
  const minElements = options.minElements ?? 1024;
  const g = model.graph;
  const uses = new Map<string, number>();
  const matMulUses = new Map<string, number>();
  for (const n of allNodes(g)) {
    n.inputs.forEach((input, i) => {
      uses.set(input, (uses.get(input) ?? 0) + 1);
      if (n.opType === 'MatMul' && (n.domain ?? '') === '' && i === 1) matMulUses.set(input, (matMulUses.get(input) ?? 0) + 1);
    });
  }
  const chosen = new Map<string, TensorProto>();
  for (const t of g.initializers) {
    const size = t.dims.reduce((a, b) => a * b, 1);
    if (t.dataType === FLOAT && t.dims.length === 2 && size >= minElements && uses.get(t.name) === matMulUses.get(t.name)) chosen.set(t.name, t);
  }
  const initializers = g.initializers.filter((t) => !chosen.has(t.name));
  for (const t of chosen.values()) initializers.push(...(scheme === 'int4' ? int4Tensors(t) : int8Tensors(t)));
  const rewrite = (graph: GraphProto): GraphProto => ({
    ...graph,
    nodes: graph.nodes.map((n) => {
      const nested = Object.fromEntries(Object.entries(n.attributes).map(([k, a]) => [k, a.type === 'graph' ? { type: 'graph' as const, value: rewrite(a.value) } : a]));
      const w = n.opType === 'MatMul' && (n.domain ?? '') === '' ? chosen.get(n.inputs[1]!) : undefined;
      if (!w) return { ...n, attributes: nested };
      return quantizedNode(n, w, scheme);
    }),
  });
  const out: ModelProto = {
    ...model,
    opsetImports: model.opsetImports.some((o) => o.domain === MS_DOMAIN) ? model.opsetImports : [...model.opsetImports, { domain: MS_DOMAIN, version: 1 }],
    graph: { ...rewrite(g), initializers },
    metadata: { ...model.metadata, [QUANTIZATION_METADATA_KEY]: JSON.stringify({ scheme: SCHEME_NAMES[scheme], minElements, tensors: chosen.size }) },
  };
  return encodeModel(out);
}

const SCHEME_NAMES: Record<MatMulQuantization, string> = {
  'int8-dynamic': 'int8 symmetric per-column weights, DynamicQuantizeMatMul (uint8 activations per call)',
  int4: `int4 weights in blocks of ${INT4_BLOCK}, MatMulNBits accuracy_level ${INT4_ACCURACY_LEVEL}`,
};

function quantizedNode(n: NodeProto, w: TensorProto, scheme: MatMulQuantization): NodeProto {
  const base = w.name;
  const [K, N] = w.dims as [number, number];
  if (scheme === 'int8-dynamic') {
    return { name: n.name, opType: 'DynamicQuantizeMatMul', domain: MS_DOMAIN, inputs: [n.inputs[0]!, `${base}_quantized`, `${base}_scale`, `${base}_zero_point`], outputs: n.outputs, attributes: {} };
  }
  return {
    name: n.name,
    opType: 'MatMulNBits',
    domain: MS_DOMAIN,
    inputs: [n.inputs[0]!, `${base}_quantized`, `${base}_scales`],
    outputs: n.outputs,
    attributes: {
      K: { type: 'int', value: K },
      N: { type: 'int', value: N },
      bits: { type: 'int', value: 4 },
      block_size: { type: 'int', value: INT4_BLOCK },
      accuracy_level: { type: 'int', value: INT4_ACCURACY_LEVEL },
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

/** MatMulNBits' packed 4-bit weight [N, blocks, 16] and scales [N · blocks] of W [K, N]. */
function int4Tensors(t: TensorProto): TensorProto[] {
  const [K, N] = t.dims as [number, number];
  const { packed, scales, blocks } = quantizeInt4(floats(t), K, N);
  return [
    { name: `${t.name}_quantized`, dataType: UINT8, dims: [N, blocks, INT4_BLOCK / 2], rawData: packed },
    { name: `${t.name}_scales`, dataType: FLOAT, dims: [N * blocks], rawData: new Uint8Array(scales.buffer) },
  ];
}

/**
 * Blockwise symmetric 4-bit quantization of W [K, N] (row-major) along K, in MatMulNBits'
 * layout (see the top of this file), with the largest |w − dequantized(w)|.
 */
export function quantizeInt4(w: Float32Array, K: number, N: number): { packed: Uint8Array; scales: Float32Array; blocks: number; maxError: number } {
  const blocks = Math.ceil(K / INT4_BLOCK);
  const bytesPerBlock = INT4_BLOCK / 2;
  const packed = new Uint8Array(N * blocks * bytesPerBlock).fill(0x88); // padding: zero point 8, value 0
  const scales = new Float32Array(N * blocks);
  let maxError = 0;
  for (let n = 0; n < N; n++) {
    for (let b = 0; b < blocks; b++) {
      const k0 = b * INT4_BLOCK;
      const k1 = Math.min(K, k0 + INT4_BLOCK);
      let maxAbs = 0;
      for (let k = k0; k < k1; k++) maxAbs = Math.max(maxAbs, Math.abs(w[k * N + n]!));
      const scale = maxAbs > 0 && Number.isFinite(maxAbs) ? Math.fround(maxAbs / 7) : 1;
      scales[n * blocks + b] = scale;
      for (let k = k0; k < k1; k++) {
        const v = w[k * N + n]!;
        const q = Math.max(-8, Math.min(7, Math.round(v / scale)));
        const byte = (n * blocks + b) * bytesPerBlock + ((k - k0) >> 1);
        const nibble = q + 8;
        packed[byte] = (k - k0) % 2 === 0 ? (packed[byte]! & 0xf0) | nibble : (packed[byte]! & 0x0f) | (nibble << 4);
        maxError = Math.max(maxError, Math.abs(v - Math.fround(q * scale)));
      }
    }
  }
  return { packed, scales, blocks, maxError };
}

/** A float32 initializer's values (copied to an aligned buffer). */
function floats(t: TensorProto): Float32Array {
  const bytes = new Uint8Array(t.rawData.length);
  bytes.set(t.rawData);
  return new Float32Array(bytes.buffer);
}
