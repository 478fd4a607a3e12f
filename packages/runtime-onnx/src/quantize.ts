// int8 weight-only quantization of an exported attend model (ONNX ModelProto bytes in, bytes out).
//
// Scheme: symmetric int8 with one scale per output channel, zero point 0, values in [-127, 127]
// (scale = max|w| / 127 over the channel). Each chosen float32 initializer `W` is replaced by
// an int8 initializer `W_quantized`, a float scale vector `W_scale`, an int8 zero-point vector
// `W_zero_point` and one `DequantizeLinear` node (opset 13+ per-axis form) whose output is
// named `W` — so every consumer of `W` (MatMul, the embedding Gather, the tied LM head's
// Transpose) is untouched, and activations stay float32.
//
// Which tensors: rank-2 float initializers of at least `minElements` values that are
//   - the weight (input 1) of a MatMul: Linear weights [in, out], per-output-channel (axis 1);
//   - with `embeddings` (default true), the table (input 0) of a Gather, i.e. the token and
//     learned position embeddings [rows, d], one scale per row (axis 0) — for tied embeddings
//     that is also one scale per output logit of the LM head.
// Kept float32: biases, LayerNorm parameters, per-head score weights [H, D, D] (rank 3:
// DequantizeLinear's per-axis form has one axis, and they are small), and the computed
// sinusoidal / RoPE tables (not learned; named `sinusoidal_positions`, `rope_cos`, `rope_sin`).
//
// Why DequantizeLinear → MatMul rather than DynamicQuantizeLinear + MatMulInteger: it is a
// standard op with kernels on every execution provider ORT ships (CPU, CUDA, WASM, WebGPU;
// tested here on CPU and WASM), the graph asks for the weights' rounding only (no per-call
// uint8 activations), and it stays a plain float graph to every other tool. What runs differs by runtime: onnxruntime-web
// (WASM) dequantizes the weights at run time and computes in fp32 (exactly the fp32 model with
// the rounded weights); onnxruntime-node's CPU provider (optimization level 'extended' and up)
// fuses DequantizeLinear → MatMul into its MatMulNBits kernel (8 bits), which by default
// (session config `session.qdq_matmulnbits_accuracy_level` = 4) also quantizes activations to
// int8 on the fly — a little more error (see quantize.test.ts), about fp32 speed. The win is
// file size and download (~3.6× smaller), not speed; see `pnpm bench:infer`.
//
// The ModelProto is decoded in full (the fields attend's writer emits, subgraphs of `If`
// included; anything else is an error rather than silently dropped) and re-encoded with
// proto.ts's writer. Initializers read inside `If` branches are found and quantized too.

import protobuf from 'protobufjs/minimal.js';
import { encodeModel, type AttributeValue, type DataTypeCode, type Dim, type GraphProto, type ModelProto, type NodeProto, type TensorProto, type ValueInfoProto } from './onnx/proto.js';

/** ONNX TensorProto.DataType codes beyond proto.ts's set. */
const INT8 = 3;
const FLOAT = 1;

/** Metadata key recording the quantization applied. */
export const QUANTIZATION_METADATA_KEY = 'attend.quantization';

export interface QuantizeOptions {
  /** Also quantize Gather tables (token and learned position embeddings); default true. */
  embeddings?: boolean;
  /** Smallest initializer (in values) worth quantizing; default 1024. */
  minElements?: number;
}

export interface QuantizedTensorInfo {
  name: string;
  dims: number[];
  /** The axis with one scale per index. */
  axis: number;
  /** Largest |w − dequantized(w)| over the tensor. */
  maxError: number;
}

export interface QuantizeReport {
  bytes: Uint8Array;
  tensors: QuantizedTensorInfo[];
  /** Size of the input and output models in bytes. */
  sizeBefore: number;
  sizeAfter: number;
}

/** Computed (not learned) tables the exporter writes; left float32. */
const COMPUTED_TABLES = new Set(['sinusoidal_positions', 'rope_cos', 'rope_sin']);

/** int8-quantized copy of an ONNX model (see the top of this file). */
export function quantizeModel(bytes: Uint8Array, options: QuantizeOptions = {}): Uint8Array {
  return quantizeModelWithReport(bytes, options).bytes;
}

/** `quantizeModel` plus which tensors were quantized and their largest rounding error. */
export function quantizeModelWithReport(bytes: Uint8Array, options: QuantizeOptions = {}): QuantizeReport {
  const model = decodeModel(bytes);
  const g = model.graph;
  const minElements = options.minElements ?? 1024;
  const embeddings = options.embeddings ?? true;
  if (model.metadata[QUANTIZATION_METADATA_KEY] !== undefined) throw new Error('the model is already quantized');
  const opset = model.opsetImports.find((o) => o.domain === '' || o.domain === 'ai.onnx');
  if (!opset || opset.version < 13) throw new Error(`per-channel DequantizeLinear needs opset ≥ 13, the model has ${opset?.version ?? 'none'}`);

  // How each initializer is consumed: the axis that gets its own scale, or null if it must stay float.
  const axisOf = new Map<string, number | null>();
  const use = (name: string, axis: number | null): void => {
    const prev = axisOf.get(name);
    if (prev === undefined) axisOf.set(name, axis);
    else if (prev !== axis) axisOf.set(name, null);
  };
  const initNames = new Set(g.initializers.map((t) => t.name));
  for (const n of allNodes(g)) {
    n.inputs.forEach((input, i) => {
      if (!initNames.has(input)) return;
      if (n.opType === 'MatMul' && i === 1) use(input, 1);
      else if (n.opType === 'Gather' && i === 0 && embeddings && !COMPUTED_TABLES.has(input)) use(input, 0);
      else if (n.opType === 'Transpose' && i === 0 && embeddings && !COMPUTED_TABLES.has(input)) use(input, 0); // tied LM head
      else use(input, null);
    });
  }

  const initializers: TensorProto[] = [];
  const dequantize: NodeProto[] = [];
  const tensors: QuantizedTensorInfo[] = [];
  for (const t of g.initializers) {
    const axis = axisOf.get(t.name);
    const size = t.dims.reduce((a, b) => a * b, 1);
    const transposeOnly = axis === 0 && !allNodes(g).some((n) => n.opType === 'Gather' && n.inputs[0] === t.name);
    if (axis === undefined || axis === null || transposeOnly || t.dataType !== FLOAT || t.dims.length !== 2 || size < minElements) {
      initializers.push(t);
      continue;
    }
    const values = new Float32Array(copyBytes(t.rawData).buffer);
    const q = quantizeSymmetric(values, t.dims[0]!, t.dims[1]!, axis);
    const base = t.name;
    initializers.push(
      { name: `${base}_quantized`, dataType: INT8 as DataTypeCode, dims: t.dims, rawData: new Uint8Array(q.data.buffer) },
      { name: `${base}_scale`, dataType: FLOAT as DataTypeCode, dims: [q.scales.length], rawData: new Uint8Array(q.scales.buffer) },
      { name: `${base}_zero_point`, dataType: INT8 as DataTypeCode, dims: [q.scales.length], rawData: new Uint8Array(q.scales.length) },
    );
    dequantize.push({
      name: `quantization/${base}/DequantizeLinear`,
      opType: 'DequantizeLinear',
      inputs: [`${base}_quantized`, `${base}_scale`, `${base}_zero_point`],
      outputs: [base],
      attributes: { axis: { type: 'int', value: axis } },
    });
    tensors.push({ name: base, dims: t.dims, axis, maxError: q.maxError });
  }
  const out: ModelProto = {
    ...model,
    graph: { ...g, initializers, nodes: [...dequantize, ...g.nodes] },
    metadata: {
      ...model.metadata,
      [QUANTIZATION_METADATA_KEY]: JSON.stringify({ scheme: 'int8 symmetric per-channel weights, DequantizeLinear', embeddings, minElements, tensors: tensors.length }),
    },
  };
  const encoded = encodeModel(out);
  return { bytes: encoded, tensors, sizeBefore: bytes.length, sizeAfter: encoded.length };
}

/**
 * The nodes of `g` and of its subgraphs (the branches of `If`, which read the main graph's
 * initializers by name; the DequantizeLinear nodes go in the main graph, ahead of all).
 */
export function allNodes(g: GraphProto): NodeProto[] {
  const out: NodeProto[] = [];
  const visit = (graph: GraphProto): void => {
    for (const n of graph.nodes) {
      out.push(n);
      for (const a of Object.values(n.attributes)) if (a.type === 'graph') visit(a.value);
    }
  };
  visit(g);
  return out;
}

/** Symmetric int8 of a [rows, cols] matrix with one scale per index of `axis`. */
export function quantizeSymmetric(values: Float32Array, rows: number, cols: number, axis: number): { data: Int8Array; scales: Float32Array; maxError: number } {
  const channels = axis === 0 ? rows : cols;
  const at = (r: number, c: number): number => r * cols + c;
  const maxAbs = new Float32Array(channels);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const ch = axis === 0 ? r : c;
      const v = Math.abs(values[at(r, c)]!);
      if (v > maxAbs[ch]!) maxAbs[ch] = v;
    }
  }
  const scales = Float32Array.from(maxAbs, (m) => (m > 0 && Number.isFinite(m) ? m / 127 : 1));
  const data = new Int8Array(rows * cols);
  let maxError = 0;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const s = scales[axis === 0 ? r : c]!;
      const v = values[at(r, c)]!;
      const q = Math.max(-127, Math.min(127, Math.round(v / s)));
      data[at(r, c)] = q;
      maxError = Math.max(maxError, Math.abs(v - Math.fround(q * s)));
    }
  }
  return { data, scales, maxError };
}

// ---- ModelProto decoding ----------------------------------------------------------------------

const WIRE_VARINT = 0;
const WIRE_LEN = 2;
const WIRE_FIXED32 = 5;

type Reader = protobuf.Reader;

function fields(bytes: Uint8Array, what: string, visit: (field: number, wire: number, r: Reader) => boolean): void {
  const r = protobuf.Reader.create(bytes);
  while (r.pos < r.len) {
    const key = r.uint32();
    const field = key >>> 3;
    const wire = key & 7;
    if (field === 0 || wire === 3 || wire === 4 || wire > 5) throw new Error(`malformed protobuf in ${what} at byte ${r.pos}`);
    if (!visit(field, wire, r)) throw new Error(`${what}: field ${field} (wire type ${wire}) is not supported by the quantizer`);
  }
}

function packedOrSingle(wire: number, r: Reader, read: (r: Reader) => number, out: number[]): void {
  if (wire === WIRE_LEN) {
    const sub = protobuf.Reader.create(r.bytes());
    while (sub.pos < sub.len) out.push(read(sub));
  } else out.push(read(r));
}

const int64 = (r: Reader): number => Number(r.int64());

/** A copy in a fresh, aligned ArrayBuffer (a tensor's rawData is a view of the model's bytes, maybe unaligned). */
function copyBytes(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length);
  out.set(bytes);
  return out;
}

function decodeTensor(bytes: Uint8Array): TensorProto {
  const t: TensorProto = { name: '', dataType: FLOAT as DataTypeCode, dims: [], rawData: new Uint8Array(0) };
  fields(bytes, 'TensorProto', (f, w, r) => {
    if (f === 1) packedOrSingle(w, r, int64, t.dims);
    else if (f === 2 && w === WIRE_VARINT) t.dataType = r.int32() as DataTypeCode;
    else if (f === 8 && w === WIRE_LEN) t.name = r.string();
    else if (f === 9 && w === WIRE_LEN) t.rawData = r.bytes(); // a view of the model's bytes (see decodeModel)
    else return false;
    return true;
  });
  return t;
}

function decodeAttribute(bytes: Uint8Array): [string, AttributeValue] {
  let name = '';
  let type = 0;
  let f32 = 0;
  let i64 = 0;
  let s = '';
  let tensor: TensorProto | undefined;
  let graph: GraphProto | undefined;
  const floats: number[] = [];
  const ints: number[] = [];
  fields(bytes, 'AttributeProto', (f, w, r) => {
    if (f === 1 && w === WIRE_LEN) name = r.string();
    else if (f === 2 && w === WIRE_FIXED32) f32 = r.float();
    else if (f === 3 && w === WIRE_VARINT) i64 = int64(r);
    else if (f === 4 && w === WIRE_LEN) s = new TextDecoder().decode(r.bytes());
    else if (f === 5 && w === WIRE_LEN) tensor = decodeTensor(r.bytes());
    else if (f === 6 && w === WIRE_LEN) graph = decodeGraph(r.bytes());
    else if (f === 7) packedOrSingle(w, r, (rr) => rr.float(), floats);
    else if (f === 8) packedOrSingle(w, r, int64, ints);
    else if (f === 20 && w === WIRE_VARINT) type = r.int32();
    else return false;
    return true;
  });
  switch (type) {
    case 1: return [name, { type: 'float', value: f32 }];
    case 2: return [name, { type: 'int', value: i64 }];
    case 3: return [name, { type: 'string', value: s }];
    case 4:
      if (!tensor) throw new Error(`attribute '${name}': tensor type without a tensor`);
      return [name, { type: 'tensor', value: tensor }];
    case 5:
      if (!graph) throw new Error(`attribute '${name}': graph type without a graph`);
      return [name, { type: 'graph', value: graph }];
    case 6: return [name, { type: 'floats', value: floats }];
    case 7: return [name, { type: 'ints', value: ints }];
    default: throw new Error(`attribute '${name}': type ${type} is not supported by the quantizer`);
  }
}

function decodeNode(bytes: Uint8Array): NodeProto {
  const n: NodeProto = { name: '', opType: '', inputs: [], outputs: [], attributes: {} };
  fields(bytes, 'NodeProto', (f, w, r) => {
    if (w !== WIRE_LEN) return false;
    if (f === 1) n.inputs.push(r.string());
    else if (f === 2) n.outputs.push(r.string());
    else if (f === 3) n.name = r.string();
    else if (f === 4) n.opType = r.string();
    else if (f === 5) {
      const [name, value] = decodeAttribute(r.bytes());
      n.attributes[name] = value;
    } else if (f === 7) n.domain = r.string();
    else return false;
    return true;
  });
  return n;
}

function decodeValueInfo(bytes: Uint8Array): ValueInfoProto {
  const v: ValueInfoProto = { name: '', elemType: FLOAT as DataTypeCode, dims: [] };
  fields(bytes, 'ValueInfoProto', (f, w, r) => {
    if (w !== WIRE_LEN) return false;
    if (f === 1) v.name = r.string();
    else if (f === 3) v.docString = r.string();
    else if (f === 2) {
      fields(r.bytes(), 'TypeProto', (tf, tw, tr) => {
        if (tf !== 1 || tw !== WIRE_LEN) return false;
        fields(tr.bytes(), 'TypeProto.Tensor', (ef, ew, er) => {
          if (ef === 1 && ew === WIRE_VARINT) v.elemType = er.int32() as DataTypeCode;
          else if (ef === 2 && ew === WIRE_LEN) {
            fields(er.bytes(), 'TensorShapeProto', (sf, sw, sr) => {
              if (sf !== 1 || sw !== WIRE_LEN) return false;
              let dim: Dim = '';
              fields(sr.bytes(), 'Dimension', (df, dw, dr) => {
                if (df === 1 && dw === WIRE_VARINT) dim = int64(dr);
                else if (df === 2 && dw === WIRE_LEN) dim = dr.string();
                else return false;
                return true;
              });
              v.dims.push(dim);
              return true;
            });
          } else return false;
          return true;
        });
        return true;
      });
    } else return false;
    return true;
  });
  return v;
}

function decodeGraph(bytes: Uint8Array): GraphProto {
  const g: GraphProto = { name: '', nodes: [], initializers: [], inputs: [], outputs: [] };
  fields(bytes, 'GraphProto', (f, w, r) => {
    if (w !== WIRE_LEN) return false;
    if (f === 1) g.nodes.push(decodeNode(r.bytes()));
    else if (f === 2) g.name = r.string();
    else if (f === 5) g.initializers.push(decodeTensor(r.bytes()));
    else if (f === 11) g.inputs.push(decodeValueInfo(r.bytes()));
    else if (f === 12) g.outputs.push(decodeValueInfo(r.bytes()));
    else return false;
    return true;
  });
  return g;
}

/**
 * Decodes ONNX ModelProto bytes written by attend's exporter (proto.ts) into the same typed
 * objects `encodeModel` takes; a field the writer never emits is an error. Each initializer's
 * rawData is a view of `bytes`, not a copy (a model as large as the file is not held twice):
 * leave `bytes` unchanged while the model is used, and copy a tensor's bytes before reading them
 * as floats (a view need not be 4-byte aligned).
 */
export function decodeModel(bytes: Uint8Array): ModelProto {
  const m: ModelProto = { irVersion: 0, opsetImports: [], producerName: '', producerVersion: '', metadata: {}, graph: { name: '', nodes: [], initializers: [], inputs: [], outputs: [] } };
  let hasGraph = false;
  fields(bytes, 'ModelProto', (f, w, r) => {
    if (f === 1 && w === WIRE_VARINT) m.irVersion = int64(r);
    else if (f === 2 && w === WIRE_LEN) m.producerName = r.string();
    else if (f === 3 && w === WIRE_LEN) m.producerVersion = r.string();
    else if (f === 6 && w === WIRE_LEN) m.docString = r.string();
    else if (f === 7 && w === WIRE_LEN) {
      m.graph = decodeGraph(r.bytes());
      hasGraph = true;
    } else if (f === 8 && w === WIRE_LEN) {
      const op = { domain: '', version: 0 };
      fields(r.bytes(), 'OperatorSetIdProto', (of, ow, or) => {
        if (of === 1 && ow === WIRE_LEN) op.domain = or.string();
        else if (of === 2 && ow === WIRE_VARINT) op.version = int64(or);
        else return false;
        return true;
      });
      m.opsetImports.push(op);
    } else if (f === 14 && w === WIRE_LEN) {
      let key = '';
      let value = '';
      fields(r.bytes(), 'StringStringEntryProto', (sf, sw, sr) => {
        if (sw !== WIRE_LEN) return false;
        if (sf === 1) key = sr.string();
        else if (sf === 2) value = sr.string();
        else return false;
        return true;
      });
      m.metadata[key] = value;
    } else return false;
    return true;
  });
  if (m.irVersion <= 0 || !hasGraph) throw new Error('not an ONNX ModelProto (no ir_version or graph)');
  return m;
}
