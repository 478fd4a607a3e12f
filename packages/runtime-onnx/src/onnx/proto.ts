// The subset of the ONNX protobuf schema (onnx/onnx.proto, IR version 8) that attend writes,
// as plain typed objects, and its wire encoding. Field numbers follow onnx.proto; the
// varint/length-delimited encoding itself is protobufjs's Writer. `readModelInfo` is the
// matching minimal reader, used to tell an ONNX model from a corrupt or foreign file.

import { concatBytes } from '@attend/core';
import protobuf from 'protobufjs/minimal.js';

/** TensorProto.DataType values used here. */
export const DataType = { FLOAT: 1, INT32: 6, INT64: 7, BOOL: 9 } as const;
export type DataTypeCode = (typeof DataType)[keyof typeof DataType];

/** A dimension: a fixed size or a symbolic name such as 'batch'. */
export type Dim = number | string;

export interface TensorProto {
  name: string;
  dataType: DataTypeCode;
  dims: number[];
  /** Little-endian element bytes, row-major. */
  rawData: Uint8Array;
}

export type AttributeValue =
  | { type: 'float'; value: number }
  | { type: 'int'; value: number }
  | { type: 'string'; value: string }
  | { type: 'ints'; value: readonly number[] }
  | { type: 'floats'; value: readonly number[] }
  | { type: 'tensor'; value: TensorProto }
  /** A subgraph (the branches of `If`); it may read values of the enclosing graph by name. */
  | { type: 'graph'; value: GraphProto };

export interface NodeProto {
  name: string;
  opType: string;
  inputs: string[];
  outputs: string[];
  attributes: Record<string, AttributeValue>;
  domain?: string;
}

export interface ValueInfoProto {
  name: string;
  elemType: DataTypeCode;
  dims: Dim[];
  docString?: string;
}

export interface GraphProto {
  name: string;
  nodes: NodeProto[];
  initializers: TensorProto[];
  inputs: ValueInfoProto[];
  outputs: ValueInfoProto[];
}

export interface ModelProto {
  irVersion: number;
  opsetImports: { domain: string; version: number }[];
  producerName: string;
  producerVersion: string;
  docString?: string;
  graph: GraphProto;
  /** String key/value pairs stored in the model (ModelProto.metadata_props). */
  metadata: Record<string, string>;
}

const WIRE_VARINT = 0;
const WIRE_FIXED32 = 5;
const WIRE_LEN = 2;

// AttributeProto.AttributeType
const ATTR_TYPE = { float: 1, int: 2, string: 3, tensor: 4, graph: 5, floats: 6, ints: 7 } as const;

type Writer = protobuf.Writer;

function tag(w: Writer, field: number, wire: number): Writer {
  return w.uint32((field << 3) | wire);
}

function str(w: Writer, field: number, value: string | undefined): void {
  if (value !== undefined && value !== '') tag(w, field, WIRE_LEN).string(value);
}

function message(w: Writer, field: number, body: (w: Writer) => void): void {
  tag(w, field, WIRE_LEN).fork();
  body(w);
  w.ldelim();
}

/** A TensorProto's fields before its raw data. */
function writeTensorHead(w: Writer, t: TensorProto): void {
  if (t.dims.length > 0) {
    message(w, 1, (w) => {
      for (const d of t.dims) w.int64(d);
    });
  }
  tag(w, 2, WIRE_VARINT).int32(t.dataType);
  str(w, 8, t.name);
}

function writeTensor(w: Writer, t: TensorProto): void {
  writeTensorHead(w, t);
  tag(w, 9, WIRE_LEN).bytes(t.rawData);
}

function writeAttribute(w: Writer, name: string, a: AttributeValue): void {
  str(w, 1, name);
  switch (a.type) {
    case 'float':
      tag(w, 2, WIRE_FIXED32).float(a.value);
      break;
    case 'int':
      tag(w, 3, WIRE_VARINT).int64(a.value);
      break;
    case 'string':
      tag(w, 4, WIRE_LEN).bytes(new TextEncoder().encode(a.value));
      break;
    case 'tensor':
      message(w, 5, (w) => writeTensor(w, a.value));
      break;
    case 'graph':
      message(w, 6, (w) => writeGraph(w, a.value));
      break;
    case 'floats':
      for (const f of a.value) tag(w, 7, WIRE_FIXED32).float(f);
      break;
    case 'ints':
      for (const i of a.value) tag(w, 8, WIRE_VARINT).int64(i);
      break;
  }
  tag(w, 20, WIRE_VARINT).int32(ATTR_TYPE[a.type]);
}

function writeNode(w: Writer, n: NodeProto): void {
  for (const i of n.inputs) tag(w, 1, WIRE_LEN).string(i);
  for (const o of n.outputs) tag(w, 2, WIRE_LEN).string(o);
  str(w, 3, n.name);
  str(w, 4, n.opType);
  for (const [name, a] of Object.entries(n.attributes)) message(w, 5, (w) => writeAttribute(w, name, a));
  str(w, 7, n.domain);
}

function writeValueInfo(w: Writer, v: ValueInfoProto): void {
  str(w, 1, v.name);
  // TypeProto { tensor_type = 1: { elem_type = 1, shape = 2: { dim = 1: { dim_value = 1 | dim_param = 2 } } } }
  message(w, 2, (w) =>
    message(w, 1, (w) => {
      tag(w, 1, WIRE_VARINT).int32(v.elemType);
      message(w, 2, (w) => {
        for (const d of v.dims) {
          message(w, 1, (w) => {
            if (typeof d === 'number') tag(w, 1, WIRE_VARINT).int64(d);
            else str(w, 2, d);
          });
        }
      });
    }),
  );
  str(w, 3, v.docString);
}

/** A GraphProto's fields before its initializers. */
function writeGraphHead(w: Writer, g: GraphProto): void {
  for (const n of g.nodes) message(w, 1, (w) => writeNode(w, n));
  str(w, 2, g.name);
}

/** A GraphProto's fields after its initializers. */
function writeGraphTail(w: Writer, g: GraphProto): void {
  for (const v of g.inputs) message(w, 11, (w) => writeValueInfo(w, v));
  for (const v of g.outputs) message(w, 12, (w) => writeValueInfo(w, v));
}

function writeGraph(w: Writer, g: GraphProto): void {
  writeGraphHead(w, g);
  for (const t of g.initializers) message(w, 5, (w) => writeTensor(w, t));
  writeGraphTail(w, g);
}

/** Tensors whose raw data is at least this many bytes stay out of the encoded parts (see encodeModelParts). */
const LARGE_RAW_DATA = 1 << 16;

/**
 * Serialises a model to ONNX ModelProto bytes, as parts whose concatenation is the model
 * (`encodeModel`'s bytes exactly): the raw data of each large initializer is its own part, a
 * view of the tensor's bytes, not a copy. Written part by part, a model of N bytes of weights
 * costs no second N bytes of memory.
 */
export function encodeModelParts(model: ModelProto): Uint8Array[] {
  const bytes = (write: (w: Writer) => void): Uint8Array => {
    const w = protobuf.Writer.create();
    write(w);
    return w.finish();
  };
  const { graph } = model;
  // GraphProto: the fields before and after the initializers, and each initializer.
  const graphParts: Uint8Array[] = [bytes((w) => writeGraphHead(w, graph))];
  for (const t of graph.initializers) {
    if (t.rawData.byteLength < LARGE_RAW_DATA) {
      graphParts.push(bytes((w) => message(w, 5, (w) => writeTensor(w, t))));
      continue;
    }
    // writeTensor's fields up to raw_data's tag and length, then the data itself.
    const head = bytes((w) => {
      writeTensorHead(w, t);
      tag(w, 9, WIRE_LEN).uint32(t.rawData.byteLength);
    });
    graphParts.push(bytes((w) => tag(w, 5, WIRE_LEN).uint32(head.byteLength + t.rawData.byteLength)), head, t.rawData);
  }
  graphParts.push(bytes((w) => writeGraphTail(w, graph)));
  const graphLength = graphParts.reduce((n, part) => n + part.byteLength, 0);
  return [
    bytes((w) => {
      tag(w, 1, WIRE_VARINT).int64(model.irVersion);
      str(w, 2, model.producerName);
      str(w, 3, model.producerVersion);
      str(w, 6, model.docString);
      tag(w, 7, WIRE_LEN).uint32(graphLength);
    }),
    ...graphParts,
    bytes((w) => {
      for (const op of model.opsetImports) {
        message(w, 8, (w) => {
          str(w, 1, op.domain);
          tag(w, 2, WIRE_VARINT).int64(op.version);
        });
      }
      for (const [key, value] of Object.entries(model.metadata)) {
        message(w, 14, (w) => {
          str(w, 1, key);
          str(w, 2, value);
        });
      }
    }),
  ];
}

/** Serialises a model to ONNX ModelProto bytes (encodeModelParts, joined). */
export function encodeModel(model: ModelProto): Uint8Array {
  return concatBytes(encodeModelParts(model));
}

/** What `readModelInfo` finds at the top level of a ModelProto. */
export interface ModelInfo {
  irVersion: number;
  producerName: string;
  opsetImports: { domain: string; version: number }[];
  metadata: Record<string, string>;
  /** Names of the graph's inputs and outputs. */
  inputs: string[];
  outputs: string[];
}

/**
 * Reads the top level of ONNX ModelProto bytes without decoding tensors. Throws an Error
 * whose message says why the bytes are not an ONNX model.
 */
export function readModelInfo(bytes: Uint8Array): ModelInfo {
  const info: ModelInfo = { irVersion: 0, producerName: '', opsetImports: [], metadata: {}, inputs: [], outputs: [] };
  let hasGraph = false;
  forEachField(bytes, (field, wire, r) => {
    if (field === 1 && wire === WIRE_VARINT) info.irVersion = Number(r.int64());
    else if (field === 2 && wire === WIRE_LEN) info.producerName = r.string();
    else if (field === 7 && wire === WIRE_LEN) {
      hasGraph = true;
      forEachField(r.bytes(), (gf, gw, gr) => {
        if ((gf === 11 || gf === 12) && gw === WIRE_LEN) {
          let name = '';
          forEachField(gr.bytes(), (vf, vw, vr) => {
            if (vf === 1 && vw === WIRE_LEN) name = vr.string();
            else vr.skipType(vw);
          });
          (gf === 11 ? info.inputs : info.outputs).push(name);
        } else gr.skipType(gw);
      });
    } else if (field === 8 && wire === WIRE_LEN) {
      const op = { domain: '', version: 0 };
      forEachField(r.bytes(), (f, ww, rr) => {
        if (f === 1 && ww === WIRE_LEN) op.domain = rr.string();
        else if (f === 2 && ww === WIRE_VARINT) op.version = Number(rr.int64());
        else rr.skipType(ww);
      });
      info.opsetImports.push(op);
    } else if (field === 14 && wire === WIRE_LEN) {
      let key = '';
      let value = '';
      forEachField(r.bytes(), (f, ww, rr) => {
        if (f === 1 && ww === WIRE_LEN) key = rr.string();
        else if (f === 2 && ww === WIRE_LEN) value = rr.string();
        else rr.skipType(ww);
      });
      info.metadata[key] = value;
    } else r.skipType(wire);
  });
  if (info.irVersion <= 0) throw new Error('no ir_version field (not an ONNX ModelProto)');
  if (!hasGraph) throw new Error('no graph (not an ONNX ModelProto)');
  return info;
}

/**
 * The graph's inputs and outputs with element type and dims (a string for a symbolic dim),
 * read from ONNX ModelProto bytes without decoding tensors.
 */
export function readGraphSignature(bytes: Uint8Array): { inputs: ValueInfoProto[]; outputs: ValueInfoProto[] } {
  const signature: { inputs: ValueInfoProto[]; outputs: ValueInfoProto[] } = { inputs: [], outputs: [] };
  forEachField(bytes, (field, wire, r) => {
    if (field !== 7 || wire !== WIRE_LEN) return void r.skipType(wire);
    forEachField(r.bytes(), (gf, gw, gr) => {
      if ((gf !== 11 && gf !== 12) || gw !== WIRE_LEN) return void gr.skipType(gw);
      const value: ValueInfoProto = { name: '', elemType: 0 as DataTypeCode, dims: [] };
      forEachField(gr.bytes(), (vf, vw, vr) => {
        if (vf === 1 && vw === WIRE_LEN) value.name = vr.string();
        else if (vf === 2 && vw === WIRE_LEN) readTensorType(vr.bytes(), value);
        else vr.skipType(vw);
      });
      (gf === 11 ? signature.inputs : signature.outputs).push(value);
    });
  });
  return signature;
}

/** TypeProto { tensor_type = 1: { elem_type = 1, shape = 2: { dim = 1: { dim_value = 1 | dim_param = 2 } } } } */
function readTensorType(bytes: Uint8Array, value: ValueInfoProto): void {
  forEachField(bytes, (tf, tw, tr) => {
    if (tf !== 1 || tw !== WIRE_LEN) return void tr.skipType(tw);
    forEachField(tr.bytes(), (f, w, r) => {
      if (f === 1 && w === WIRE_VARINT) value.elemType = r.int32() as DataTypeCode;
      else if (f === 2 && w === WIRE_LEN) {
        forEachField(r.bytes(), (sf, sw, sr) => {
          if (sf !== 1 || sw !== WIRE_LEN) return void sr.skipType(sw);
          let dim: Dim = '?';
          forEachField(sr.bytes(), (df, dw, dr) => {
            if (df === 1 && dw === WIRE_VARINT) dim = Number(dr.int64());
            else if (df === 2 && dw === WIRE_LEN) dim = dr.string();
            else dr.skipType(dw);
          });
          value.dims.push(dim);
        });
      } else r.skipType(w);
    });
  });
}

function forEachField(bytes: Uint8Array, visit: (field: number, wire: number, r: protobuf.Reader) => void): void {
  const r = protobuf.Reader.create(bytes);
  while (r.pos < r.len) {
    const key = r.uint32();
    const field = key >>> 3;
    const wire = key & 7;
    if (field === 0 || wire === 3 || wire === 4 || wire > 5) throw new Error(`malformed protobuf at byte ${r.pos}`);
    visit(field, wire, r);
  }
}
