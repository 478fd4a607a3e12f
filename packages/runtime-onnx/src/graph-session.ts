// The base of every typed graph session: one exported graph loaded into an ONNX Runtime session
// (onnxruntime-node or -web, passed in), its attend config and graph kind, and the input checks
// and output readers the per-graph sessions in models/<kind>/session.ts share. Which class runs
// a graph is the kind's RuntimeKind `sessions` entry (see session.ts `OnnxModel.create`).

import { AttendError, ShapeError, type ModelConfig } from '@attend/core';
import type { InferenceSession, Tensor } from 'onnxruntime-common';
import type { GraphKind } from './graph-io.js';
import type { ModelInfo } from './onnx/proto.js';
import type { Device } from './devices.js';
import type { GpuCacheRuntime } from './gpu-cache.js';

/** An .onnx file (or bytes) that cannot be used: corrupt, foreign, or rejected by ORT. */
export class OnnxModelError extends AttendError {
  override readonly name = 'OnnxModelError';
}

/** The parts of an onnxruntime module (node or web) the session needs. */
export interface OrtRuntime {
  InferenceSession: { create(buffer: Uint8Array, options?: InferenceSession.SessionOptions): Promise<InferenceSession> };
  Tensor: {
    new (type: 'int64', data: BigInt64Array, dims: readonly number[]): Tensor;
    new (type: 'float32', data: Float32Array, dims: readonly number[]): Tensor;
    new (type: 'bool', data: Uint8Array, dims: readonly number[]): Tensor;
  };
  /** Set when its WebGPU execution provider writes into a GPU buffer bound as both past and present (onnxruntime-web's `webgpu` build): the shared-cache graph then keeps its cache on the device (gpu-cache.ts). */
  gpuCache?: GpuCacheRuntime;
}

/** Row-major [batchSize, seqLen] integer matrix. */
export interface TokenMatrix {
  data: ArrayLike<number>;
  batchSize: number;
  seqLen: number;
}

export interface OutputTensor {
  data: Float32Array;
  dims: number[];
}

export interface ForwardOutputs {
  logits: OutputTensor;
  /** Attention-weight outputs by name (`attentions.0`, …) when the model was exported with them. */
  attentions: Record<string, OutputTensor>;
}

/** One layer's cached keys and values, each [batch, heads, length, headDim]. */
export interface LayerCache {
  key: OutputTensor;
  value: OutputTensor;
}

/** A KV cache: one entry per layer. */
export type KvCache = LayerCache[];

/** A graph as OnnxModel.create loaded it: what every graph session is built from. */
export interface LoadedGraph<C extends ModelConfig = ModelConfig> {
  ort: OrtRuntime;
  session: InferenceSession;
  config: C;
  info: ModelInfo;
  graph: GraphKind;
  device: Device;
  fallbacks: { device: Device; reason: string }[];
  source: string;
}

/** The all-ones mask [batchSize, seqLen]: every mask a caller leaves out. */
export function onesMask(batchSize: number, seqLen: number): TokenMatrix {
  return { data: new Array<number>(batchSize * seqLen).fill(1), batchSize, seqLen };
}

/**
 * One attend graph in an ORT session (the type every session has: `OnnxModel`). The subclasses
 * in models/<kind>/session.ts add the run methods of their graph kind.
 */
export class GraphSession<C extends ModelConfig = ModelConfig> {
  protected readonly ort: OrtRuntime;
  protected readonly session: InferenceSession;
  readonly config: C;
  readonly info: ModelInfo;
  /** The `attend.graph` metadata: 'forward', 'decoder-with-past', 'seq2seq-encoder', …. */
  readonly graph: GraphKind;
  /** The device that runs the model, and why another was not used. */
  readonly device: Device;
  readonly fallbacks: { device: Device; reason: string }[];
  /** Names the model in error messages. */
  readonly source: string;

  constructor(loaded: LoadedGraph<C>) {
    this.ort = loaded.ort;
    this.session = loaded.session;
    this.config = loaded.config;
    this.info = loaded.info;
    this.graph = loaded.graph;
    this.device = loaded.device;
    this.fallbacks = loaded.fallbacks;
    this.source = loaded.source;
  }

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  /** The ONNX Runtime session and its Tensor constructor, for a kind whose own module runs the graph (models/image-captioner/session.ts). */
  get ortSession(): { ort: OrtRuntime; session: InferenceSession } {
    return { ort: this.ort, session: this.session };
  }

  async release(): Promise<void> {
    await this.session.release();
  }

  /**
   * Runs the graph; a reader of its float outputs by name (an OnnxModelError naming a missing
   * one). `fetches` binds outputs to given tensors (null: ONNX Runtime allocates them).
   */
  protected async runGraph(tensors: Record<string, Tensor>, fetches?: Record<string, Tensor | null>): Promise<(name: string) => OutputTensor> {
    const results = fetches ? await this.session.run(tensors, fetches) : await this.session.run(tensors);
    return (name) => {
      const t = results[name] as Tensor | undefined;
      if (!t) throw new OnnxModelError(`${this.source}: ONNX Runtime returned no output '${name}'`);
      return { data: t.data as Float32Array, dims: [...t.dims] };
    };
  }

  /** logits and every other output (the attention maps) of a forward graph. */
  protected forwardOutputs(out: (name: string) => OutputTensor): ForwardOutputs {
    return { logits: out('logits'), attentions: this.outputsWhere(out, (name) => name !== 'logits') };
  }

  /** The graph's outputs whose names pass `keep` (the attention maps), by name. */
  protected outputsWhere(out: (name: string) => OutputTensor, keep: (name: string) => boolean): Record<string, OutputTensor> {
    const outputs: Record<string, OutputTensor> = {};
    for (const name of this.session.outputNames) if (keep(name)) outputs[name] = out(name);
    return outputs;
  }

  /** An int64 [B, T] input checked value by value (`expected` says what `valid` accepts). */
  protected tokens(name: string, m: TokenMatrix, valid: (x: number) => boolean, expected: string): Tensor {
    const { batchSize: B, seqLen: T } = m;
    if (!Number.isInteger(B) || B < 1 || !Number.isInteger(T) || T < 1) throw new ShapeError(`${name}: batchSize and seqLen must be positive integers, got [${B}, ${T}]`);
    if (m.data.length !== B * T) throw new ShapeError(`${name}: ${m.data.length} values for shape [${B}, ${T}]`);
    if (T > this.config.maxSeqLen && name !== 'attention_mask') throw new ShapeError(`${name}: sequence length ${T} exceeds maxSeqLen ${this.config.maxSeqLen}`);
    const data = new BigInt64Array(B * T);
    for (let i = 0; i < data.length; i++) {
      const x = m.data[i]!;
      if (!valid(x)) throw new ShapeError(`${name}[${Math.floor(i / T)}, ${i % T}] is ${x}; expected ${expected}`);
      data[i] = BigInt(x);
    }
    return new this.ort.Tensor('int64', data, [B, T]);
  }

  /** Token ids [B, T] in [0, vocabSize). */
  protected tokenIds(name: string, ids: TokenMatrix, vocabSize: number): Tensor {
    return this.tokens(name, ids, (x) => Number.isInteger(x) && x >= 0 && x < vocabSize, `a token id in [0, ${vocabSize})`);
  }

  /**
   * A 0/1 mask of shape [batchSize, seqLen], all ones when the caller gave none; `mismatch`
   * ends the error for another shape (" but input_ids is [1, 2]").
   */
  protected mask(name: string, mask: TokenMatrix | undefined, batchSize: number, seqLen: number, mismatch: string): Tensor {
    const m = mask ?? onesMask(batchSize, seqLen);
    if (m.batchSize !== batchSize || m.seqLen !== seqLen) throw new ShapeError(`${name} is [${m.batchSize}, ${m.seqLen}]${mismatch}`);
    return this.tokens(name, m, (x) => x === 0 || x === 1, '0 or 1');
  }

  /** A float32 input checked against the shape `want`. */
  protected floats(name: string, t: OutputTensor, want: number[]): Tensor {
    if (t.dims.length !== want.length || t.dims.some((x, i) => x !== want[i]) || t.data.length !== want.reduce((a, b) => a * b, 1)) {
      throw new ShapeError(`${name} is [${t.dims}] (${t.data.length} values), expected [${want}]`);
    }
    return new this.ort.Tensor('float32', t.data, want);
  }
}

/** A typed session class (TokenForwardSession, CachedLmSession, …). */
export type SessionClass<S> = abstract new (...args: never[]) => S;

/** `model` as the typed session `Session` of the graph it should hold; a ShapeError naming the graph it holds otherwise. */
export function asSession<S extends GraphSession>(model: GraphSession, Session: SessionClass<S>): S {
  if (!(model instanceof Session)) throw new ShapeError(`${model.source} holds a ${model.config.preset} '${model.graph}' graph, which ${Session.name} does not run`);
  return model;
}
