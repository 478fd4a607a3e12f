// A small typed builder for ONNX graphs: declare inputs, initializers and outputs, add nodes
// with one method per standard operator (opset 17 signatures), and get a ModelProto back.
// Values are referred to by name; node and value names are made unique and carry the scope
// they were built in (e.g. `decoder.layers.0.self_attn/MatMul_3`), so Netron reads well.

import { DataType, type AttributeValue, type DataTypeCode, type Dim, type GraphProto, type ModelProto, type NodeProto, type TensorProto, type ValueInfoProto } from './proto.js';

/** Name of a value (graph input, initializer or node output). */
export type Value = string;

export type ElemType = 'float32' | 'int64' | 'int32' | 'bool';

const ELEM_CODES: Record<ElemType, DataTypeCode> = { float32: DataType.FLOAT, int64: DataType.INT64, int32: DataType.INT32, bool: DataType.BOOL };

export const OPSET = 17;
export const IR_VERSION = 8;
/** ONNX Runtime's contrib operator domain (fused attention, normalisation, quantized MatMul). */
export const MS_DOMAIN = 'com.microsoft';

type Attrs = Record<string, AttributeValue>;
const int = (value: number): AttributeValue => ({ type: 'int', value });
const ints = (value: readonly number[]): AttributeValue => ({ type: 'ints', value });
const float = (value: number): AttributeValue => ({ type: 'float', value });
/** Node attribute values, for operators without a method here (`msOp`). */
export const attr = { int, ints, float };

export class GraphBuilder {
  private nodes: NodeProto[] = [];
  private readonly initializers: TensorProto[] = [];
  private readonly inputs: ValueInfoProto[] = [];
  private readonly outputs: ValueInfoProto[] = [];
  private readonly names = new Set<string>();
  private readonly constants = new Map<string, Value>();
  private readonly counters = new Map<string, number>();
  /** Node outputs declared graph outputs under another name (see `output`). */
  private readonly renames = new Map<Value, string>();
  private scopes: string[] = [];
  private usesMsDomain = false;

  /**
   * `fused`: the graph may use ONNX Runtime's com.microsoft operators (`msOp`); a graph
   * built without it is standard ONNX only.
   */
  constructor(
    readonly name: string,
    readonly fused = false,
  ) {}

  /** Runs `build` with node names prefixed by `scope`. */
  scope<T>(scope: string, build: () => T): T {
    this.scopes.push(scope);
    try {
      return build();
    } finally {
      this.scopes.pop();
    }
  }

  input(name: string, type: ElemType, dims: Dim[]): Value {
    this.claim(name);
    this.inputs.push({ name, elemType: ELEM_CODES[type], dims });
    return name;
  }

  /**
   * Declares `value` a graph output called `name`. A node's output is renamed `name` (every
   * reference follows when the model is written), so no Identity copies a tensor that the graph
   * also reads on (a KV-cache graph's present keys feed its scores); a graph input, an
   * initializer or a value already output under another name goes through an Identity node.
   */
  output(name: string, value: Value, type: ElemType, dims: Dim[]): void {
    if (name !== value) {
      this.claim(name);
      const isNodeOutput = !this.inputs.some((i) => i.name === value) && !this.initializers.some((t) => t.name === value);
      if (isNodeOutput && !this.renames.has(value) && !this.outputs.some((o) => o.name === value)) this.renames.set(value, name);
      else this.nodes.push({ name: `output/${name}`, opType: 'Identity', inputs: [value], outputs: [name], attributes: {} });
    }
    this.outputs.push({ name, elemType: ELEM_CODES[type], dims });
  }

  initializer(name: string, type: ElemType, dims: number[], data: Float32Array | BigInt64Array | Int32Array | Uint8Array): Value {
    const size = dims.reduce((a, b) => a * b, 1);
    if (data.length !== size) throw new Error(`initializer '${name}': ${data.length} values for shape [${dims}]`);
    this.claim(name);
    // A view, not a copy: the graph holds `data` until it is encoded (the weights of a large model
    // once, not twice), so callers hand over arrays they do not change afterwards.
    const rawData = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    this.initializers.push({ name, dataType: ELEM_CODES[type], dims, rawData });
    return name;
  }

  /** A float32 constant (scalar when `dims` is []), shared between uses of the same value. */
  floats(values: readonly number[], dims: number[] = values.length === 1 ? [] : [values.length]): Value {
    return this.constant('float32', Float32Array.from(values), dims);
  }

  /** An int64 constant (scalar when `dims` is []), shared between uses of the same value. */
  int64s(values: readonly number[], dims: number[] = [values.length]): Value {
    return this.constant('int64', BigInt64Array.from(values, (v) => BigInt(v)), dims);
  }

  /** The nodes with every renamed value (see `output`) under its output name. */
  private renamedNodes(): NodeProto[] {
    if (this.renames.size === 0) return this.nodes;
    const rename = (v: Value): Value => this.renames.get(v) ?? v;
    return this.nodes.map((n) => ({ ...n, inputs: n.inputs.map(rename), outputs: n.outputs.map(rename) }));
  }

  toModel(options: { producerName: string; producerVersion: string; docString?: string; metadata?: Record<string, string> }): ModelProto {
    return {
      irVersion: IR_VERSION,
      opsetImports: [{ domain: '', version: OPSET }, ...(this.usesMsDomain ? [{ domain: MS_DOMAIN, version: 1 }] : [])],
      producerName: options.producerName,
      producerVersion: options.producerVersion,
      docString: options.docString,
      metadata: options.metadata ?? {},
      graph: { name: this.name, nodes: this.renamedNodes(), initializers: this.initializers, inputs: this.inputs, outputs: this.outputs },
    };
  }

  // ---- operators (ai.onnx, opset 17) --------------------------------------------------

  add(a: Value, b: Value): Value { return this.op('Add', [a, b]); }
  sub(a: Value, b: Value): Value { return this.op('Sub', [a, b]); }
  mul(a: Value, b: Value): Value { return this.op('Mul', [a, b]); }
  div(a: Value, b: Value): Value { return this.op('Div', [a, b]); }
  max(a: Value, b: Value): Value { return this.op('Max', [a, b]); }
  neg(x: Value): Value { return this.op('Neg', [x]); }
  abs(x: Value): Value { return this.op('Abs', [x]); }
  exp(x: Value): Value { return this.op('Exp', [x]); }
  erf(x: Value): Value { return this.op('Erf', [x]); }
  tanh(x: Value): Value { return this.op('Tanh', [x]); }
  sigmoid(x: Value): Value { return this.op('Sigmoid', [x]); }
  relu(x: Value): Value { return this.op('Relu', [x]); }
  matMul(a: Value, b: Value): Value { return this.op('MatMul', [a, b]); }
  equal(a: Value, b: Value): Value { return this.op('Equal', [a, b]); }
  /** ArgMax along `axis`, keeping it (int64). */
  argMax(x: Value, axis: number): Value { return this.op('ArgMax', [x], { axis: int(axis), keepdims: int(1) }); }
  /** 2-D convolution without padding: x [B, C, H, W], w [M, C, k, k], b [M], square kernel and stride. */
  conv(x: Value, w: Value, b: Value, kernel: number, stride: number): Value {
    return this.op('Conv', [x, w, b], { kernel_shape: ints([kernel, kernel]), strides: ints([stride, stride]) });
  }
  and(a: Value, b: Value): Value { return this.op('And', [a, b]); }
  greaterOrEqual(a: Value, b: Value): Value { return this.op('GreaterOrEqual', [a, b]); }
  lessOrEqual(a: Value, b: Value): Value { return this.op('LessOrEqual', [a, b]); }
  where(condition: Value, x: Value, y: Value): Value { return this.op('Where', [condition, x, y]); }
  softmax(x: Value, axis = -1): Value { return this.op('Softmax', [x], { axis: int(axis) }); }
  cast(x: Value, to: ElemType): Value { return this.op('Cast', [x], { to: int(ELEM_CODES[to]) }); }
  transpose(x: Value, perm: readonly number[]): Value { return this.op('Transpose', [x], { perm: ints(perm) }); }
  /** Reshape; a 0 in `shape` copies that input dimension, -1 infers it. */
  reshape(x: Value, shape: readonly number[]): Value { return this.op('Reshape', [x, this.int64s(shape)]); }
  unsqueeze(x: Value, axes: readonly number[]): Value { return this.op('Unsqueeze', [x, this.int64s(axes)]); }
  concat(values: Value[], axis: number): Value { return this.op('Concat', values, { axis: int(axis) }); }
  slice(x: Value, starts: readonly number[], ends: readonly number[], axes: readonly number[]): Value {
    return this.op('Slice', [x, this.int64s(starts), this.int64s(ends), this.int64s(axes)]);
  }
  /** Gather along `axis` with an index tensor (a scalar index drops the axis). */
  gather(data: Value, indices: Value, axis = 0): Value { return this.op('Gather', [data, indices], { axis: int(axis) }); }
  /** The size of dimension `axis` of `x`, as an int64 scalar. */
  dimSize(x: Value, axis: number): Value {
    return this.gather(this.op('Shape', [x]), this.int64s([axis], []));
  }
  /** Inclusive running sum along `axis`. */
  cumSum(x: Value, axis: number): Value { return this.op('CumSum', [x, this.int64s([axis], [])]); }
  /** [start, limit) with `delta`; all int64 scalars. */
  range(start: Value, limit: Value, delta: Value): Value { return this.op('Range', [start, limit, delta]); }
  reduceSum(x: Value, axes: readonly number[], keepDims: boolean): Value {
    return this.op('ReduceSum', [x, this.int64s(axes)], { keepdims: int(keepDims ? 1 : 0) });
  }
  reduceL2(x: Value, axes: readonly number[], keepDims: boolean): Value {
    return this.op('ReduceL2', [x], { axes: ints(axes), keepdims: int(keepDims ? 1 : 0) });
  }
  layerNormalization(x: Value, scale: Value, bias: Value, epsilon: number, axis = -1): Value {
    return this.op('LayerNormalization', [x, scale, bias], { axis: int(axis), epsilon: float(epsilon) });
  }

  /**
   * ONNX `GRU` with linear_before_reset = 1 (PyTorch's cell): X [T, B, in], W [dirs, 3H, in],
   * R [dirs, 3H, H], B [dirs, 6H] (gate blocks z, r, h), optional sequence_lens int32 [B] and
   * initial_h [dirs, B, H] ('' to omit). Returns Y [T, dirs, B, H] and Y_h [dirs, B, H].
   */
  gru(x: Value, w: Value, r: Value, b: Value, sequenceLens: Value, initialH: Value, hiddenSize: number, direction: 'forward' | 'bidirectional'): [Value, Value] {
    const inputs = [x, w, r, b, sequenceLens, initialH];
    while (inputs[inputs.length - 1] === '') inputs.pop();
    const [y, yH] = this.opMulti('GRU', inputs, 2, {
      hidden_size: int(hiddenSize),
      direction: { type: 'string', value: direction },
      linear_before_reset: int(1),
    });
    return [y!, yH!];
  }

  /**
   * ONNX `LSTM` (no peepholes): X [T, B, in], W [dirs, 4H, in], R [dirs, 4H, H], B [dirs, 8H]
   * (gate blocks i, o, f, c), optional sequence_lens int32 [B], initial_h and initial_c
   * [dirs, B, H] ('' to omit). Returns Y [T, dirs, B, H], Y_h and Y_c [dirs, B, H].
   */
  lstm(x: Value, w: Value, r: Value, b: Value, sequenceLens: Value, initialH: Value, initialC: Value, hiddenSize: number, direction: 'forward' | 'bidirectional'): [Value, Value, Value] {
    const inputs = [x, w, r, b, sequenceLens, initialH, initialC];
    while (inputs[inputs.length - 1] === '') inputs.pop();
    const [y, yH, yC] = this.opMulti('LSTM', inputs, 3, {
      hidden_size: int(hiddenSize),
      direction: { type: 'string', value: direction },
    });
    return [y!, yH!, yC!];
  }

  /** Adds one node with `count` outputs and returns their names. */
  opMulti(opType: string, inputs: Value[], count: number, attributes: Attrs = {}): Value[] {
    const id = this.unique(`${this.prefix()}${opType}`);
    const outputs = Array.from({ length: count }, (_, i) => `${id}_out${i}`);
    for (const o of outputs) this.claim(o);
    this.nodes.push({ name: id, opType, inputs, outputs, attributes });
    return outputs;
  }

  /**
   * Adds one com.microsoft (ONNX Runtime contrib) node; only in a builder made `fused`. Empty
   * strings in `inputs` skip optional inputs; `outputs` says which of its outputs are produced
   * (the others are '': a kernel may skip optional outputs nobody reads).
   */
  msOp(opType: string, inputs: Value[], outputs: boolean[], attributes: Attrs = {}): Value[] {
    if (!this.fused) throw new Error(`graph '${this.name}': ${MS_DOMAIN} ${opType} in a standard-ops graph`);
    this.usesMsDomain = true;
    while (inputs[inputs.length - 1] === '') inputs = inputs.slice(0, -1);
    const id = this.unique(`${this.prefix()}${opType}`);
    const names = outputs.map((wanted, i) => (wanted ? `${id}_out${i}` : ''));
    for (const o of names) if (o) this.claim(o);
    this.nodes.push({ name: id, opType, inputs, outputs: names, attributes, domain: MS_DOMAIN });
    return names;
  }

  /** ONNX `Split` of `x` along `axis` into `count` equal parts. */
  split(x: Value, axis: number, count: number): Value[] {
    return this.opMulti('Split', [x], count, { axis: int(axis) });
  }

  /**
   * ONNX `If`: `cond` (bool, one element) picks which branch runs. Each branch is built by a
   * callback (nodes added inside go to that branch's subgraph; initializers and constants go
   * to the main graph, which subgraphs may read) and returns its outputs, one per entry of
   * `outputs` (type and dims of each). Returns the If node's outputs.
   */
  ifElse(cond: Value, outputs: { type: ElemType; dims: Dim[] }[], thenBranch: () => Value[], elseBranch: () => Value[]): Value[] {
    const id = this.unique(`${this.prefix()}If`);
    const branch = (label: string, build: () => Value[]): GraphProto => {
      const saved = this.nodes;
      this.nodes = [];
      try {
        const values = build();
        if (values.length !== outputs.length) throw new Error(`If '${id}': ${label} branch gives ${values.length} outputs, expected ${outputs.length}`);
        const infos: ValueInfoProto[] = values.map((v, i) => {
          // A branch output must be produced inside the branch: copy outer values through Identity.
          const name = this.unique(`${id}/${label}_out${i}`);
          this.claim(name);
          this.nodes.push({ name: `${name}/Identity`, opType: 'Identity', inputs: [v], outputs: [name], attributes: {} });
          return { name, elemType: ELEM_CODES[outputs[i]!.type], dims: outputs[i]!.dims };
        });
        return { name: `${id}_${label}`, nodes: this.nodes, initializers: [], inputs: [], outputs: infos };
      } finally {
        this.nodes = saved;
      }
    };
    const thenGraph = branch('then', thenBranch);
    const elseGraph = branch('else', elseBranch);
    const outs = outputs.map((_, i) => `${id}_out${i}`);
    for (const o of outs) this.claim(o);
    this.nodes.push({ name: id, opType: 'If', inputs: [cond], outputs: outs, attributes: { then_branch: { type: 'graph', value: thenGraph }, else_branch: { type: 'graph', value: elseGraph } } });
    return outs;
  }

  /** Adds one node with a single output and returns the output's name. */
  op(opType: string, inputs: Value[], attributes: Attrs = {}): Value {
    const id = this.unique(`${this.prefix()}${opType}`);
    const output = `${id}_out`;
    this.claim(output);
    this.nodes.push({ name: id, opType, inputs, outputs: [output], attributes });
    return output;
  }

  private constant(type: ElemType, data: Float32Array | BigInt64Array, dims: number[]): Value {
    const key = `${type}[${dims}]:${Array.from(data as ArrayLike<number | bigint>).join(',')}`;
    const known = this.constants.get(key);
    if (known) return known;
    const name = this.unique(`const_${type}`);
    this.initializer(name, type, dims, data);
    this.constants.set(key, name);
    return name;
  }

  private prefix(): string {
    return this.scopes.length ? `${this.scopes.join('.')}/` : '';
  }

  private unique(base: string): string {
    const n = this.counters.get(base) ?? 0;
    this.counters.set(base, n + 1);
    return `${base}_${n}`;
  }

  private claim(name: string): void {
    if (this.names.has(name)) throw new Error(`graph '${this.name}': value name '${name}' is used twice`);
    this.names.add(name);
  }
}
