// An exported forward graph loaded into an ONNX Runtime session, backend-neutral: the
// `./node` and `./web` entry points pass in their runtime (onnxruntime-node or -web).
// Inputs are checked here, before ORT sees them, against the config stored in the model.

import { AttendError, configAs, hasTokens, modelTask, parseModelConfig, ShapeError, type ModelConfig } from '@attend/core';
import type { InferenceSession, Tensor } from 'onnxruntime-common';
import { forwardInputNames, METADATA_KEYS, pastName, presentName, seq2seqPastName, seq2seqPresentName, type GraphKind } from './graph-io.js';
import { readModelInfo, type ModelInfo } from './onnx/proto.js';
import { resolveDevice, type Device, type Runtime } from './devices.js';

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
}

export interface SessionOptions {
  /** Default 'cpu' (node) or 'wasm' (web). */
  device?: Device;
  /** 'cuda' only: the GPU index (CUDA provider's deviceId); default 0. */
  deviceId?: number;
  /** Fall back to CPU/WASM when a GPU device cannot start; default true. */
  allowFallback?: boolean;
  /** Intra-op threads (node); default ORT's choice. */
  numThreads?: number;
  /** Names the model in error messages; default 'model.onnx'. */
  source?: string;
}

/** Row-major [batchSize, seqLen] integer matrix. */
export interface TokenMatrix {
  data: ArrayLike<number>;
  batchSize: number;
  seqLen: number;
}

export interface ForwardFeeds {
  inputIds: TokenMatrix;
  /** 1 for real tokens, 0 for (right) padding; default all ones. */
  attentionMask?: TokenMatrix;
  /** Encoder–decoder only. */
  decoderInputIds?: TokenMatrix;
  decoderAttentionMask?: TokenMatrix;
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

/** The KV cache of a decoder-lm KV-cache graph: one entry per layer. */
export type KvCache = LayerCache[];

export interface CachedFeeds {
  /** The new tokens [B, T]. */
  inputIds: TokenMatrix;
  /** [B, P + T]: 1 for real tokens, 0 for padding (left, right or between calls); default all ones. */
  attentionMask?: TokenMatrix;
  /**
   * [B, T] positions of the new tokens; default: the number of real tokens before each
   * (cumsum(attentionMask) − 1; see positionsFromMask), P, …, P + T − 1 without padding.
   */
  positionIds?: TokenMatrix;
  /** The cache returned by the previous call (`present`); none on the first call. */
  past?: KvCache;
}

export interface CachedOutputs extends ForwardOutputs {
  /** The cache extended by the new tokens, [B, H, P + T, D] per layer. */
  present: KvCache;
}

/**
 * Positions of the last `T` columns of `mask`: a real token's is the number of real tokens
 * before it; padding counts on from the row's first real token (so right padding keeps the
 * plain forward's positions) and is 0 before it (left padding).
 */
export function positionsFromMask(mask: TokenMatrix, T: number): TokenMatrix {
  const { batchSize: B, seqLen: K } = mask;
  const data = new Array<number>(B * T);
  for (let b = 0; b < B; b++) {
    let seen = 0;
    let first = -1;
    for (let k = 0; k < K; k++) {
      const real = mask.data[b * K + k] === 1;
      if (real && first < 0) first = k;
      if (k >= K - T) data[b * T + k - (K - T)] = real ? seen : first < 0 ? 0 : k - first;
      if (real) seen++;
    }
  }
  return { data, batchSize: B, seqLen: T };
}

/** The caches of a seq2seq decoder: self-attention (grows) and cross-attention (fixed), per layer. */
export interface Seq2SeqCache {
  decoder: KvCache;
  encoder: KvCache;
}

export interface EncoderFeeds {
  inputIds: TokenMatrix;
  /** 1 for real tokens, 0 for right padding; default all ones. */
  attentionMask?: TokenMatrix;
}

export interface EncoderOutputs {
  /** [B, S, dModel] */
  lastHiddenState: OutputTensor;
  attentions: Record<string, OutputTensor>;
}

export interface Seq2SeqDecoderFeeds {
  /** The new decoder tokens [B, T]. */
  inputIds: TokenMatrix;
  /** The encoder output [B, S, dModel] for these rows. */
  encoderHiddenStates: OutputTensor;
  /** [B, S] source mask; default all ones. */
  encoderAttentionMask?: TokenMatrix;
  /** The caches from the previous call (`present`); none on the first call. */
  past?: Seq2SeqCache;
}

export interface Seq2SeqDecoderOutputs extends ForwardOutputs {
  present: Seq2SeqCache;
}

export interface RnnEncoderOutputs {
  /** [B, S, dModel]; zero at padded positions. */
  lastHiddenState: OutputTensor;
  /** [L, B, dModel]: the decoder's first hidden state (the bridge over the final encoder states). */
  decoderInitialState: OutputTensor;
}

export interface RnnDecoderStepFeeds {
  /** One token per row [B, 1]. */
  inputIds: TokenMatrix;
  /** The encoder output [B, S, dModel] for these rows. */
  encoderHiddenStates: OutputTensor;
  /** [B, S] source mask; default all ones. */
  encoderAttentionMask?: TokenMatrix;
  /** [L, B, dModel]: the decoder state before this step. */
  hiddenState: OutputTensor;
  /** [L, B, dModel]: an LSTM decoder's cell state before this step (zeros at the first step, the default). */
  cellState?: OutputTensor;
  /** [B, dModel]: h̃ of the previous step (Luong attention's input feeding; zeros at the first step). */
  attentionalState?: OutputTensor;
}

export interface RnnDecoderStepOutputs {
  /** [B, 1, V] */
  logits: OutputTensor;
  /** [L, B, dModel] */
  hiddenState: OutputTensor;
  /** [L, B, dModel]; LSTM only. */
  cellState?: OutputTensor;
  /** [B, dModel]; Luong attention (dot, general, concat, local-p) only. */
  attentionalState?: OutputTensor;
  /** [B, 1, S]; with attention only. */
  attentionWeights?: OutputTensor;
}

/** An attend forward graph (or decoder-lm KV-cache graph, or one of the seq2seq graphs) in an ORT session. */
export class OnnxModel {
  private constructor(
    private readonly ort: OrtRuntime,
    private readonly session: InferenceSession,
    readonly config: ModelConfig,
    readonly info: ModelInfo,
    /** 'decoder-with-past' for the KV-cache graph of a decoder-lm, else 'forward'. */
    readonly graph: GraphKind,
    /** The device that runs the model, and why another was not used. */
    readonly device: Device,
    readonly fallbacks: { device: Device; reason: string }[],
    private readonly source: string,
  ) {}

  static async create(ort: OrtRuntime, runtime: Runtime, bytes: Uint8Array, options: SessionOptions = {}): Promise<OnnxModel> {
    const source = options.source ?? 'model.onnx';
    const { info, config, graph } = inspectModel(bytes, source);
    const fallbacks: { device: Device; reason: string }[] = [];
    let resolved = resolveDevice(options.device ?? (runtime === 'node' ? 'cpu' : 'wasm'), runtime, options.deviceId === undefined ? {} : { deviceId: options.deviceId });
    for (;;) {
      try {
        const session = await ort.InferenceSession.create(bytes, {
          executionProviders: resolved.executionProviders,
          ...(options.numThreads ? { intraOpNumThreads: options.numThreads } : {}),
          logSeverityLevel: 3,
        });
        return new OnnxModel(ort, session, config, info, graph, resolved.device, fallbacks, source);
      } catch (error) {
        const reason = firstLine(error);
        if (resolved.fallback && (options.allowFallback ?? true)) {
          fallbacks.push({ device: resolved.device, reason });
          resolved = resolveDevice(resolved.fallback, runtime);
          continue;
        }
        throw new OnnxModelError(`${source}: ONNX Runtime could not load the model on '${resolved.device}': ${reason}`);
      }
    }
  }

  /** The ONNX Runtime session and its Tensor constructor, for a kind whose own module runs the graph (models/image-captioner/session.ts). */
  get ortSession(): { ort: OrtRuntime; session: InferenceSession } {
    return { ort: this.ort, session: this.session };
  }

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  /**
   * The forward pass over whole sequences. On a KV-cache graph this is its first call:
   * positions 0 … T − 1 and an empty past.
   */
  async run(feeds: ForwardFeeds): Promise<ForwardOutputs> {
    const c = this.config;
    if (this.graph === 'seq2seq-encoder' || this.graph === 'seq2seq-decoder') {
      throw new ShapeError(`${this.source} is a '${this.graph}' graph; use encode / runSeq2SeqDecoder (or translate) instead of run`);
    }
    if (this.graph === 'rnn-seq2seq-encoder' || this.graph === 'rnn-seq2seq-decoder') {
      throw new ShapeError(`${this.source} is a '${this.graph}' graph; use runRnnEncoder / runRnnDecoderStep (or translateRnn) instead of run`);
    }
    if (!hasTokens(c)) throw new ShapeError(`${this.source} is a ${c.preset} graph (an image classifier's: pixel_values in); use runImages (or classifyImages) instead of run`);
    if (this.graph === 'decoder-with-past') {
      if (feeds.decoderInputIds) throw new ShapeError(`preset '${c.preset}' takes no decoderInputIds`);
      const { logits, attentions } = await this.runCached({ inputIds: feeds.inputIds, attentionMask: feeds.attentionMask });
      return { logits, attentions };
    }
    const encDec = forwardInputNames(c, this.graph).includes('decoder_input_ids');
    const tensors: Record<string, Tensor> = {};
    const add = (name: string, ids: TokenMatrix, mask: TokenMatrix | undefined): void => {
      const maskName = name === 'input_ids' ? 'attention_mask' : 'decoder_attention_mask';
      tensors[name] = this.tokens(name, ids, (x) => Number.isInteger(x) && x >= 0 && x < c.vocabSize, `a token id in [0, ${c.vocabSize})`);
      const m = mask ?? { data: new Array<number>(ids.batchSize * ids.seqLen).fill(1), batchSize: ids.batchSize, seqLen: ids.seqLen };
      if (m.batchSize !== ids.batchSize || m.seqLen !== ids.seqLen) {
        throw new ShapeError(`${maskName} is [${m.batchSize}, ${m.seqLen}] but ${name} is [${ids.batchSize}, ${ids.seqLen}]`);
      }
      tensors[maskName] = this.tokens(maskName, m, (x) => x === 0 || x === 1, '0 or 1');
    };
    add('input_ids', feeds.inputIds, feeds.attentionMask);
    if (encDec) {
      if (!feeds.decoderInputIds) throw new ShapeError(`preset '${c.preset}' needs decoderInputIds`);
      if (feeds.decoderInputIds.batchSize !== feeds.inputIds.batchSize) {
        throw new ShapeError(`decoder_input_ids has batch size ${feeds.decoderInputIds.batchSize} but input_ids has ${feeds.inputIds.batchSize}`);
      }
      add('decoder_input_ids', feeds.decoderInputIds, feeds.decoderAttentionMask);
    } else if (feeds.decoderInputIds) {
      throw new ShapeError(`preset '${c.preset}' takes no decoderInputIds`);
    }
    return this.forwardOutputs(await this.session.run(tensors));
  }

  /**
   * An image classifier's graph over `batchSize` images [B, C, S, S] (row-major, raw values as
   * stored: the graph applies pixelScale): class logits, and its other outputs (a ViT's
   * attentions.{i} when exported with them, an STN's theta, a glimpse-classifier's locations).
   */
  async runImages(pixels: Float32Array, batchSize: number): Promise<ForwardOutputs> {
    const c = this.config;
    if (modelTask(c) !== 'image-classification' || !('imageSize' in c)) throw new ShapeError(`runImages needs an image classifier's export; this model is a '${c.preset}'`);
    const dims = [batchSize, c.numChannels, c.imageSize, c.imageSize];
    const size = dims.reduce((a, b) => a * b, 1);
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new ShapeError(`pixel_values: batchSize must be a positive integer, got ${batchSize}`);
    if (pixels.length !== size) throw new ShapeError(`pixel_values: ${pixels.length} values for shape [${dims.join(', ')}]`);
    const bad = pixels.findIndex((x) => !Number.isFinite(x));
    if (bad >= 0) throw new ShapeError(`pixel_values: value ${bad} of image ${Math.floor(bad / (size / batchSize))} is ${pixels[bad]}; expected a finite number`);
    return this.forwardOutputs(await this.session.run({ pixel_values: new this.ort.Tensor('float32', pixels, dims) }));
  }

  /** logits and any other outputs (the attention maps) of a forward graph. */
  private forwardOutputs(results: InferenceSession.OnnxValueMapType): ForwardOutputs {
    const out = this.reader(results);
    const attentions: Record<string, OutputTensor> = {};
    for (const name of this.session.outputNames) if (name !== 'logits') attentions[name] = out(name);
    return { logits: out('logits'), attentions };
  }

  /**
   * One call of the decoder-lm KV-cache graph: the new tokens, their positions and the past
   * cache in; logits for the new tokens and the extended cache out. Positions must fit in
   * maxSeqLen; the mask covers past and new tokens.
   */
  async runCached(feeds: CachedFeeds): Promise<CachedOutputs> {
    const c = configAs(this.config, ['decoder-lm'], 'runCached');
    if (this.graph !== 'decoder-with-past') throw new ShapeError(`${this.source} is a '${this.graph}' graph; runCached needs a decoder-lm KV-cache export (kvCache: true)`);
    const { batchSize: B } = feeds.inputIds;
    const H = c.numHeads;
    const D = c.dModel / H;
    const past = feeds.past;
    const P = past?.[0]?.key.dims[2] ?? 0;
    if (past) this.checkCache(past, [B, H, P, D]);
    const tensors = this.cachedTokens(feeds, P);
    for (let i = 0; i < c.numDecoderLayers; i++) {
      for (const part of ['key', 'value'] as const) {
        const t = past?.[i]?.[part];
        tensors[pastName(i, part)] = new this.ort.Tensor('float32', t ? t.data : new Float32Array(0), [B, H, P, D]);
      }
    }
    const results = await this.session.run(tensors);
    const out = (name: string): OutputTensor => {
      const t = results[name];
      if (!t) throw new OnnxModelError(`${this.source}: ONNX Runtime returned no output '${name}'`);
      return { data: t.data as Float32Array, dims: [...t.dims] };
    };
    const present: KvCache = Array.from({ length: c.numDecoderLayers }, (_, i) => ({ key: out(presentName(i, 'key')), value: out(presentName(i, 'value')) }));
    const attentions: Record<string, OutputTensor> = {};
    for (const name of this.session.outputNames) if (name.startsWith('attentions.')) attentions[name] = out(name);
    return { logits: out('logits'), attentions, present };
  }

  /**
   * One call of the decoder-lm shared-cache graph (kv-cache.ts runs it): `cache` holds each
   * layer's key and value buffers [B, H, C, D] (a capacity C ≤ maxSeqLen) with `pastLength`
   * positions filled; each buffer is bound as both its past input and its present output, so
   * ONNX Runtime's CPU kernel writes the new keys and values into it in place (onnxruntime-node's
   * CPU only). Returns the logits [B, T, V]. Feeds as runCached's (the mask covers the past and
   * the new tokens).
   */
  async runSharedCache(feeds: Omit<CachedFeeds, 'past'>, cache: KvCache, pastLength: number): Promise<OutputTensor> {
    const c = configAs(this.config, ['decoder-lm'], 'runSharedCache');
    if (this.graph !== 'decoder-shared-cache') throw new ShapeError(`${this.source} is a '${this.graph}' graph; runSharedCache needs a decoder-lm shared-cache export (kvCache: 'shared')`);
    if (this.device !== 'cpu') throw new OnnxModelError(`${this.source}: the shared-cache graph updates its cache in place on onnxruntime-node's CPU only, not on '${this.device}'; export with kvCache: true there`);
    const H = c.numHeads;
    const D = c.dModel / H;
    const capacity = Math.min(cache[0]?.key.dims[2] ?? 0, c.maxSeqLen);
    const dims = [feeds.inputIds.batchSize, H, capacity, D];
    this.checkCache(cache, dims);
    const tensors = this.cachedTokens(feeds, pastLength);
    const T = feeds.inputIds.seqLen;
    if (pastLength + T > capacity) throw new ShapeError(`past length ${pastLength} + ${T} new tokens exceeds the cache's capacity ${capacity}`);
    const fetches: Record<string, Tensor | null> = { logits: null };
    cache.forEach((layer, i) => {
      for (const part of ['key', 'value'] as const) {
        const buffer = new this.ort.Tensor('float32', layer[part].data, dims);
        tensors[pastName(i, part)] = buffer;
        fetches[presentName(i, part)] = buffer;
      }
    });
    return this.reader(await this.session.run(tensors, fetches))('logits');
  }

  /** Checks that `cache` has a key and a value tensor of shape `want` for every decoder layer. */
  private checkCache(cache: KvCache, want: number[]): void {
    const layers = configAs(this.config, ['decoder-lm'], 'a KV cache').numDecoderLayers;
    if (cache.length !== layers) throw new ShapeError(`past has ${cache.length} layers, expected ${layers}`);
    const size = want.reduce((a, b) => a * b, 1);
    cache.forEach((layer, i) => {
      for (const part of ['key', 'value'] as const) {
        const t = layer[part];
        if (t.dims.length !== 4 || t.dims.some((d, j) => d !== want[j]) || t.data.length !== size) {
          throw new ShapeError(`${pastName(i, part)} is [${t.dims}] (${t.data.length} values), expected [${want}]`);
        }
      }
    });
  }

  /** input_ids, attention_mask and position_ids of a KV-cache graph call after `P` cached positions, checked. */
  private cachedTokens(feeds: Omit<CachedFeeds, 'past'>, P: number): Record<string, Tensor> {
    const c = configAs(this.config, ['decoder-lm'], 'a KV-cache call');
    const ids = feeds.inputIds;
    const tensors: Record<string, Tensor> = {};
    tensors.input_ids = this.tokens('input_ids', ids, (x) => Number.isInteger(x) && x >= 0 && x < c.vocabSize, `a token id in [0, ${c.vocabSize})`);
    const { batchSize: B, seqLen: T } = ids;
    if (P + T > c.maxSeqLen) throw new ShapeError(`past length ${P} + ${T} new tokens exceeds maxSeqLen ${c.maxSeqLen}`);
    const mask = feeds.attentionMask ?? { data: new Array<number>(B * (P + T)).fill(1), batchSize: B, seqLen: P + T };
    if (mask.batchSize !== B || mask.seqLen !== P + T) throw new ShapeError(`attention_mask is [${mask.batchSize}, ${mask.seqLen}], expected [${B}, ${P + T}] (past ${P} + ${T} new)`);
    tensors.attention_mask = this.tokens('attention_mask', mask, (x) => x === 0 || x === 1, '0 or 1');
    const positions = feeds.positionIds ?? positionsFromMask(mask, T);
    if (positions.batchSize !== B || positions.seqLen !== T) throw new ShapeError(`position_ids is [${positions.batchSize}, ${positions.seqLen}] but input_ids is [${B}, ${T}]`);
    tensors.position_ids = this.tokens('position_ids', positions, (x) => Number.isInteger(x) && x >= 0 && x < c.maxSeqLen, `a position in [0, ${c.maxSeqLen})`);
    return tensors;
  }

  /** The seq2seq encoder graph: source tokens → last_hidden_state [B, S, d]. */
  async encode(feeds: EncoderFeeds): Promise<EncoderOutputs> {
    if (this.graph !== 'seq2seq-encoder') throw new ShapeError(`${this.source} is a '${this.graph}' graph; encode needs a seq2seq encoder export (encoder_model.onnx)`);
    const c = configAs(this.config, ['encoder-decoder'], 'encode');
    const ids = feeds.inputIds;
    const mask = feeds.attentionMask ?? { data: new Array<number>(ids.batchSize * ids.seqLen).fill(1), batchSize: ids.batchSize, seqLen: ids.seqLen };
    const tensors: Record<string, Tensor> = {};
    tensors.input_ids = this.tokens('input_ids', ids, (x) => Number.isInteger(x) && x >= 0 && x < c.vocabSize, `a token id in [0, ${c.vocabSize})`);
    if (mask.batchSize !== ids.batchSize || mask.seqLen !== ids.seqLen) throw new ShapeError(`attention_mask is [${mask.batchSize}, ${mask.seqLen}] but input_ids is [${ids.batchSize}, ${ids.seqLen}]`);
    tensors.attention_mask = this.tokens('attention_mask', mask, (x) => x === 0 || x === 1, '0 or 1');
    const results = await this.session.run(tensors);
    const out = this.reader(results);
    const attentions: Record<string, OutputTensor> = {};
    for (const name of this.session.outputNames) if (name !== 'last_hidden_state') attentions[name] = out(name);
    return { lastHiddenState: out('last_hidden_state'), attentions };
  }

  /**
   * One call of the merged seq2seq decoder: new decoder tokens, the encoder output and mask,
   * and the caches of the previous call (none on the first: use_cache_branch false, the
   * cross-attention keys and values are computed from the encoder output).
   */
  async runSeq2SeqDecoder(feeds: Seq2SeqDecoderFeeds): Promise<Seq2SeqDecoderOutputs> {
    if (this.graph !== 'seq2seq-decoder') throw new ShapeError(`${this.source} is a '${this.graph}' graph; runSeq2SeqDecoder needs a seq2seq decoder export (decoder_model_merged.onnx)`);
    const c = configAs(this.config, ['encoder-decoder'], 'runSeq2SeqDecoder');
    const ids = feeds.inputIds;
    const { batchSize: B, seqLen: T } = ids;
    const H = c.numHeads;
    const D = c.dModel / H;
    const L = c.numDecoderLayers;
    const tensors: Record<string, Tensor> = {};
    tensors.input_ids = this.tokens('input_ids', ids, (x) => Number.isInteger(x) && x >= 0 && x < c.vocabSize, `a token id in [0, ${c.vocabSize})`);
    const states = feeds.encoderHiddenStates;
    const S = states.dims[1] ?? 0;
    if (states.dims.length !== 3 || states.dims[0] !== B || states.dims[2] !== c.dModel || states.data.length !== B * S * c.dModel) {
      throw new ShapeError(`encoder_hidden_states is [${states.dims}] (${states.data.length} values), expected [${B}, S, ${c.dModel}]`);
    }
    const mask = feeds.encoderAttentionMask ?? { data: new Array<number>(B * S).fill(1), batchSize: B, seqLen: S };
    if (mask.batchSize !== B || mask.seqLen !== S) throw new ShapeError(`encoder_attention_mask is [${mask.batchSize}, ${mask.seqLen}], expected [${B}, ${S}]`);
    tensors.encoder_attention_mask = this.tokens('encoder_attention_mask', mask, (x) => x === 0 || x === 1, '0 or 1');
    tensors.encoder_hidden_states = new this.ort.Tensor('float32', states.data, [B, S, c.dModel]);
    const past = feeds.past;
    let P = 0;
    if (past) {
      if (past.decoder.length !== L || past.encoder.length !== L) throw new ShapeError(`past has ${past.decoder.length} decoder and ${past.encoder.length} encoder layers, expected ${L}`);
      P = past.decoder[0]?.key.dims[2] ?? 0;
      for (const cache of ['decoder', 'encoder'] as const) {
        past[cache].forEach((layer, i) => {
          for (const part of ['key', 'value'] as const) {
            const t = layer[part];
            const want = [B, H, cache === 'decoder' ? P : S, D];
            if (t.dims.length !== 4 || t.dims.some((d, j) => d !== want[j]) || t.data.length !== want.reduce((a, b) => a * b, 1)) {
              throw new ShapeError(`${seq2seqPastName(i, cache, part)} is [${t.dims}] (${t.data.length} values), expected [${want}]`);
            }
          }
        });
      }
    }
    if (P + T > c.maxSeqLen) throw new ShapeError(`past length ${P} + ${T} new tokens exceeds maxSeqLen ${c.maxSeqLen}`);
    for (let i = 0; i < L; i++) {
      for (const cache of ['decoder', 'encoder'] as const) {
        for (const part of ['key', 'value'] as const) {
          const t = past?.[cache][i]?.[part];
          tensors[seq2seqPastName(i, cache, part)] = new this.ort.Tensor('float32', t ? t.data : new Float32Array(0), [B, H, t ? t.dims[2]! : 0, D]);
        }
      }
    }
    tensors.use_cache_branch = new this.ort.Tensor('bool', Uint8Array.of(past ? 1 : 0), [1]);
    const results = await this.session.run(tensors);
    const out = this.reader(results);
    const layerCache = (cache: 'decoder' | 'encoder'): KvCache =>
      Array.from({ length: L }, (_, i) => ({ key: out(seq2seqPresentName(i, cache, 'key')), value: out(seq2seqPresentName(i, cache, 'value')) }));
    const attentions: Record<string, OutputTensor> = {};
    for (const name of this.session.outputNames) if (/^(decoder|cross)_attentions\./.test(name)) attentions[name] = out(name);
    return { logits: out('logits'), attentions, present: { decoder: layerCache('decoder'), encoder: layerCache('encoder') } };
  }

  /** The rnn-seq2seq encoder graph: source tokens → encoder states and the decoder's initial state. */
  async runRnnEncoder(feeds: EncoderFeeds): Promise<RnnEncoderOutputs> {
    if (this.graph !== 'rnn-seq2seq-encoder') throw new ShapeError(`${this.source} is a '${this.graph}' graph; runRnnEncoder needs an rnn-seq2seq encoder export`);
    const c = configAs(this.config, ['rnn-seq2seq'], 'runRnnEncoder');
    const ids = feeds.inputIds;
    const mask = feeds.attentionMask ?? { data: new Array<number>(ids.batchSize * ids.seqLen).fill(1), batchSize: ids.batchSize, seqLen: ids.seqLen };
    if (mask.batchSize !== ids.batchSize || mask.seqLen !== ids.seqLen) throw new ShapeError(`attention_mask is [${mask.batchSize}, ${mask.seqLen}] but input_ids is [${ids.batchSize}, ${ids.seqLen}]`);
    const results = await this.session.run({
      input_ids: this.tokens('input_ids', ids, (x) => Number.isInteger(x) && x >= 0 && x < c.vocabSize, `a token id in [0, ${c.vocabSize})`),
      attention_mask: this.tokens('attention_mask', mask, (x) => x === 0 || x === 1, '0 or 1'),
    });
    const out = this.reader(results);
    return { lastHiddenState: out('last_hidden_state'), decoderInitialState: out('decoder_initial_state') };
  }

  /** One step of the rnn-seq2seq decoder graph: each row's newest token and recurrent state → logits and the next state. */
  async runRnnDecoderStep(feeds: RnnDecoderStepFeeds): Promise<RnnDecoderStepOutputs> {
    if (this.graph !== 'rnn-seq2seq-decoder') throw new ShapeError(`${this.source} is a '${this.graph}' graph; runRnnDecoderStep needs an rnn-seq2seq decoder export`);
    const c = configAs(this.config, ['rnn-seq2seq'], 'runRnnDecoderStep');
    const d = c.dModel;
    const L = c.numDecoderLayers;
    const ids = feeds.inputIds;
    if (ids.seqLen !== 1) throw new ShapeError(`input_ids is [${ids.batchSize}, ${ids.seqLen}]; the rnn decoder step takes one token per row`);
    const B = ids.batchSize;
    const tensors: Record<string, Tensor> = {};
    tensors.input_ids = this.tokens('input_ids', ids, (x) => Number.isInteger(x) && x >= 0 && x < c.vocabSize, `a token id in [0, ${c.vocabSize})`);
    const states = feeds.encoderHiddenStates;
    const S = states.dims[1] ?? 0;
    if (states.dims.length !== 3 || states.dims[0] !== B || states.dims[2] !== d || states.data.length !== B * S * d) {
      throw new ShapeError(`encoder_hidden_states is [${states.dims}] (${states.data.length} values), expected [${B}, S, ${d}]`);
    }
    tensors.encoder_hidden_states = new this.ort.Tensor('float32', states.data, [B, S, d]);
    const mask = feeds.encoderAttentionMask ?? { data: new Array<number>(B * S).fill(1), batchSize: B, seqLen: S };
    if (mask.batchSize !== B || mask.seqLen !== S) throw new ShapeError(`encoder_attention_mask is [${mask.batchSize}, ${mask.seqLen}], expected [${B}, ${S}]`);
    tensors.encoder_attention_mask = this.tokens('encoder_attention_mask', mask, (x) => x === 0 || x === 1, '0 or 1');
    const checked = (name: string, t: OutputTensor, want: number[]): Tensor => {
      if (t.dims.length !== want.length || t.dims.some((x, i) => x !== want[i]) || t.data.length !== want.reduce((a, b) => a * b, 1)) {
        throw new ShapeError(`${name} is [${t.dims}] (${t.data.length} values), expected [${want}]`);
      }
      return new this.ort.Tensor('float32', t.data, want);
    };
    tensors.hidden_state = checked('hidden_state', feeds.hiddenState, [L, B, d]);
    const lstm = this.session.inputNames.includes('cell_state');
    if (lstm) tensors.cell_state = checked('cell_state', feeds.cellState ?? { data: new Float32Array(L * B * d), dims: [L, B, d] }, [L, B, d]);
    const feeding = this.session.inputNames.includes('attentional_state');
    if (feeding) tensors.attentional_state = checked('attentional_state', feeds.attentionalState ?? { data: new Float32Array(B * d), dims: [B, d] }, [B, d]);
    const results = await this.session.run(tensors);
    const out = this.reader(results);
    const outputs = this.session.outputNames;
    return {
      logits: out('logits'),
      hiddenState: out('present_hidden_state'),
      ...(lstm ? { cellState: out('present_cell_state') } : {}),
      ...(feeding ? { attentionalState: out('present_attentional_state') } : {}),
      ...(outputs.includes('attention_weights') ? { attentionWeights: out('attention_weights') } : {}),
    };
  }

  private reader(results: InferenceSession.OnnxValueMapType): (name: string) => OutputTensor {
    return (name) => {
      const t = results[name] as Tensor | undefined;
      if (!t) throw new OnnxModelError(`${this.source}: ONNX Runtime returned no output '${name}'`);
      return { data: t.data as Float32Array, dims: [...t.dims] };
    };
  }

  async release(): Promise<void> {
    await this.session.release();
  }

  private tokens(name: string, m: TokenMatrix, valid: (x: number) => boolean, expected: string): Tensor {
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
}

/** Reads the model's header and attend metadata; a corrupt or foreign file is a one-line OnnxModelError. */
export function inspectModel(bytes: Uint8Array, source = 'model.onnx'): { info: ModelInfo; config: ModelConfig; graph: GraphKind } {
  let info: ModelInfo;
  try {
    info = readModelInfo(bytes);
  } catch (error) {
    throw new OnnxModelError(`${source}: not an ONNX model (${firstLine(error)})`);
  }
  const configText = info.metadata[METADATA_KEYS.config];
  if (configText === undefined) {
    throw new OnnxModelError(`${source}: an ONNX model, but not an attend export (no '${METADATA_KEYS.config}' metadata; producer '${info.producerName || 'unknown'}')`);
  }
  let config: ModelConfig;
  try {
    config = parseModelConfig(configText, `${source} metadata '${METADATA_KEYS.config}'`);
  } catch (error) {
    throw new OnnxModelError(firstLine(error));
  }
  const kinds: GraphKind[] = ['decoder-with-past', 'decoder-shared-cache', 'seq2seq-encoder', 'seq2seq-decoder', 'rnn-seq2seq-encoder', 'rnn-seq2seq-decoder', 'image-captioner-encoder', 'image-captioner-decoder', 'vision-encoder', 'vision-decoder'];
  const graph: GraphKind = kinds.find((k) => k === info.metadata[METADATA_KEYS.graph]) ?? 'forward';
  const missing = forwardInputNames(config, graph).filter((n) => !info.inputs.includes(n));
  if (missing.length > 0 || !info.outputs.includes(graph === 'seq2seq-encoder' || graph === 'rnn-seq2seq-encoder' || graph === 'image-captioner-encoder' || graph === 'vision-encoder' ? 'last_hidden_state' : 'logits')) {
    throw new OnnxModelError(`${source}: not an attend ${graph} graph (inputs [${info.inputs.join(', ')}], outputs [${info.outputs.join(', ')}])`);
  }
  return { info, config, graph };
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n').find((l) => l.trim() !== '')?.trim() ?? 'unknown error';
}
