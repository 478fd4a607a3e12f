// The decoder-lm KV-cache graph ('decoder-with-past'): the new tokens, their positions and the
// past keys and values in; logits for the new tokens and the extended cache out. Its first call
// (empty past) is the plain forward pass; generate.ts decodes with it.

import { ShapeError, type DecoderLmConfig } from '@attend/core';
import { OnnxModelError } from '../../graph-session.js';
import type { Tensor } from 'onnxruntime-common';
import { NEW_KEY_VALUES, pastName, presentName } from '../../graph-io.js';
import { GraphSession, onesMask, type ForwardOutputs, type KvCache, type OutputTensor, type TokenMatrix } from '../../graph-session.js';
import { TokenForwardSession, type ForwardFeeds } from '../encoder-classifier/session.js';
import type { GpuCacheRuntime } from '../../gpu-cache.js';

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

/** What the decoder-lm's two cache graphs share: the new tokens' feeds after a cached past. */
abstract class LmCacheSession extends GraphSession<DecoderLmConfig> {
  /**
   * input_ids, attention_mask and position_ids of a call after `P` cached positions, checked:
   * the new tokens' positions must fit in maxSeqLen; the mask covers past and new tokens.
   */
  protected cachedTokens(feeds: Omit<CachedFeeds, 'past'>, P: number): Record<string, Tensor> {
    const c = this.config;
    const ids = feeds.inputIds;
    const tensors: Record<string, Tensor> = {};
    tensors.input_ids = this.tokenIds('input_ids', ids, c.vocabSize);
    const { batchSize: B, seqLen: T } = ids;
    if (P + T > c.maxSeqLen) throw new ShapeError(`past length ${P} + ${T} new tokens exceeds maxSeqLen ${c.maxSeqLen}`);
    const mask = feeds.attentionMask ?? onesMask(B, P + T);
    tensors.attention_mask = this.mask('attention_mask', mask, B, P + T, `, expected [${B}, ${P + T}] (past ${P} + ${T} new)`);
    const positions = feeds.positionIds ?? positionsFromMask(mask, T);
    if (positions.batchSize !== B || positions.seqLen !== T) throw new ShapeError(`position_ids is [${positions.batchSize}, ${positions.seqLen}] but input_ids is [${B}, ${T}]`);
    tensors.position_ids = this.tokens('position_ids', positions, (x) => Number.isInteger(x) && x >= 0 && x < c.maxSeqLen, `a position in [0, ${c.maxSeqLen})`);
    return tensors;
  }
}

/** A decoder-lm's KV-cache graph. */
export class CachedLmSession extends LmCacheSession {
  private inPlace: SharedCacheLmSession | undefined;

  /** The same folder's in-place cache graph, which generation uses in place of this one (see kv-cache.ts); undefined when none was opened. */
  get inPlaceCache(): SharedCacheLmSession | undefined {
    return this.inPlace;
  }

  /**
   * Makes generation over this graph run `session` (the same model's 'decoder-shared-cache'
   * graph) instead; this session's release() releases it too.
   */
  useInPlaceCache(session: SharedCacheLmSession): void {
    if (JSON.stringify(session.config) !== JSON.stringify(this.config)) throw new OnnxModelError(`${session.source}: its config differs from ${this.source}'s (graphs of different models?)`);
    this.inPlace = session;
  }

  override async release(): Promise<void> {
    const inPlace = this.inPlace;
    this.inPlace = undefined;
    await Promise.all([super.release(), inPlace?.release()]);
  }

  /** The forward pass over whole sequences: the first call, positions 0 … T − 1 and an empty past. */
  async run(feeds: ForwardFeeds): Promise<ForwardOutputs> {
    const { logits, attentions } = await this.runCached({ inputIds: feeds.inputIds, ...(feeds.attentionMask ? { attentionMask: feeds.attentionMask } : {}) });
    return { logits, attentions };
  }

  /**
   * One call of the graph: the new tokens, their positions and the past cache in; logits for
   * the new tokens and the extended cache out. Positions must fit in maxSeqLen; the mask
   * covers past and new tokens.
   */
  async runCached(feeds: CachedFeeds): Promise<CachedOutputs> {
    const c = this.config;
    const { batchSize: B } = feeds.inputIds;
    const H = c.numHeads;
    const D = c.dModel / H;
    const past = feeds.past;
    let P = 0;
    if (past) {
      if (past.length !== c.numDecoderLayers) throw new ShapeError(`past has ${past.length} layers, expected ${c.numDecoderLayers}`);
      P = past[0]?.key.dims[2] ?? 0;
    }
    const tensors = this.cachedTokens(feeds, P);
    for (let i = 0; i < c.numDecoderLayers; i++) {
      for (const part of ['key', 'value'] as const) {
        tensors[pastName(i, part)] = past ? this.floats(pastName(i, part), past[i]![part], [B, H, P, D]) : new this.ort.Tensor('float32', new Float32Array(0), [B, H, 0, D]);
      }
    }
    const out = await this.runGraph(tensors);
    const present: KvCache = Array.from({ length: c.numDecoderLayers }, (_, i) => ({ key: out(presentName(i, 'key')), value: out(presentName(i, 'value')) }));
    return { logits: out('logits'), attentions: this.outputsWhere(out, (name) => name.startsWith('attentions.')), present };
  }
}

/**
 * The decoder-lm shared-cache graph ('decoder-shared-cache', kv-cache.ts runs it): each layer's
 * key and value buffers [B, H, C, D] (C ≤ maxSeqLen positions, the first `pastLength` filled)
 * are the past input of GroupQueryAttention. On onnxruntime-node's CPU the buffers stay in
 * JavaScript: the graph's `new_key_values` output, the new tokens' keys and values alone (every
 * layer's, in one tensor), is written into them after each call. (onnxruntime-node copies every
 * output it returns into a new ArrayBuffer, so fetching the buffers themselves, bound as the
 * present outputs — what a graph exported without that output is run with —, costs a copy of
 * all C positions per call.) onnxruntime-web (wasm) copies a bound output into its own heap and never writes it
 * back, so there the past is the filled positions alone (C = pastLength) and the present
 * outputs, those and the new ones, come back as the next call's cache: the standard graph's
 * copies, with GroupQueryAttention's kernel. On 'webgpu' over onnxruntime-web's `webgpu` build
 * (an OrtRuntime with `gpuCache`) the buffers are GPU buffers bound as past and present
 * (`runGpuCache`, gpu-cache.ts): the cache stays on the device and only the logits come back.
 */
export class SharedCacheLmSession extends LmCacheSession {
  /** Whether the buffers a call is given hold the new keys and values after it (onnxruntime-node's CPU), or a new cache is returned (wasm). */
  get inPlace(): boolean {
    return this.device === 'cpu';
  }

  /** How this session keeps the cache in GPU buffers: set on 'webgpu' over a runtime that shares a bound buffer (onnxruntime-web's `webgpu` build), else undefined. */
  get gpuCache(): GpuCacheRuntime | undefined {
    return this.device === 'webgpu' ? this.ort.gpuCache : undefined;
  }

  /**
   * cachedTokens, refusing in one line the call GroupQueryAttention refuses (onnxruntime 1.30 on
   * node's CPU and on the webgpu build's WebGPU EP, "batch_size must be 1 when sequence_length > 1
   * and past context is given"): more than one new token after a past, in more than one row.
   * Generation never makes it (the prompt is read with an empty past, then one token per call); a
   * caller splits such a call by rows or tokens.
   */
  private sharedCacheTokens(feeds: Omit<CachedFeeds, 'past'>, pastLength: number): Record<string, Tensor> {
    const { batchSize: B, seqLen: T } = feeds.inputIds;
    if (pastLength > 0 && T > 1 && B > 1) throw new ShapeError(`${this.source}: ${T} new tokens after a past of ${pastLength} in ${B} rows; the shared-cache graph's GroupQueryAttention takes several new tokens after a past in one row only (run one row, or one token, per call)`);
    return this.cachedTokens(feeds, pastLength);
  }

  /**
   * The logits [B, T, V] of the new tokens after `pastLength` positions filled in `cache`, one
   * GPU tensor [B, H, C, D] per layer key and value (gpu-cache.ts), each bound as the layer's
   * past and present: the graph writes the new keys and values into them on the device.
   */
  async runGpuCache(feeds: Omit<CachedFeeds, 'past'>, cache: { key: Tensor; value: Tensor }[], pastLength: number): Promise<OutputTensor> {
    const c = this.config;
    if (!this.gpuCache) throw new OnnxModelError(`${this.source}: GPU buffers are for device 'webgpu' over onnxruntime-web's webgpu build (webGpuCacheSessions), not '${this.device}'`);
    if (cache.length !== c.numDecoderLayers) throw new ShapeError(`past has ${cache.length} layers, expected ${c.numDecoderLayers}`);
    const tensors = this.sharedCacheTokens(feeds, pastLength);
    const { batchSize: B, seqLen: T } = feeds.inputIds;
    const dims = [B, c.numHeads, cache[0]?.key.dims[2] ?? 0, c.dModel / c.numHeads];
    if (pastLength + T > dims[2]!) throw new ShapeError(`past length ${pastLength} + ${T} new tokens exceeds the cache's capacity ${dims[2]}`);
    const fetches: Record<string, Tensor | null> = { logits: null };
    cache.forEach((layer, i) => {
      for (const part of ['key', 'value'] as const) {
        const buffer = layer[part];
        if (buffer.dims.length !== 4 || buffer.dims.some((x, k) => x !== dims[k])) throw new ShapeError(`${pastName(i, part)} is [${buffer.dims}], expected [${dims}]`);
        tensors[pastName(i, part)] = buffer;
        fetches[presentName(i, part)] = buffer;
      }
    });
    return (await this.runGraph(tensors, fetches))('logits');
  }

  /**
   * The logits [B, T, V] of the new tokens after `pastLength` positions filled in `cache`, and
   * the cache holding them too: `cache` itself in place, else the present outputs.
   */
  async runSharedCache(feeds: Omit<CachedFeeds, 'past'>, cache: KvCache, pastLength: number): Promise<{ logits: OutputTensor; cache: KvCache }> {
    const c = this.config;
    const inPlace = this.inPlace;
    if (!inPlace && this.device !== 'wasm') throw new OnnxModelError(`${this.source}: the shared-cache graph runs on onnxruntime-node's CPU and onnxruntime-web's wasm (and in GPU buffers on webgpu: runGpuCache), not on '${this.device}'; export with kvCache: true there`);
    const H = c.numHeads;
    const D = c.dModel / H;
    const capacity = Math.min(cache[0]?.key.dims[2] ?? 0, c.maxSeqLen);
    const dims = [feeds.inputIds.batchSize, H, capacity, D];
    if (cache.length !== c.numDecoderLayers) throw new ShapeError(`past has ${cache.length} layers, expected ${c.numDecoderLayers}`);
    const tensors = this.sharedCacheTokens(feeds, pastLength);
    const T = feeds.inputIds.seqLen;
    if (inPlace ? pastLength + T > capacity : pastLength !== capacity) {
      throw new ShapeError(inPlace ? `past length ${pastLength} + ${T} new tokens exceeds the cache's capacity ${capacity}` : `past length ${pastLength}, but the cache holds ${capacity} positions (on ${this.device} it holds the filled ones alone)`);
    }
    const newOutputs = inPlace && this.outputNames.includes(NEW_KEY_VALUES);
    const fetches: Record<string, Tensor | null> = { logits: null };
    if (newOutputs) fetches[NEW_KEY_VALUES] = null;
    cache.forEach((layer, i) => {
      for (const part of ['key', 'value'] as const) {
        const buffer = this.floats(pastName(i, part), layer[part], dims);
        tensors[pastName(i, part)] = buffer;
        if (!newOutputs) fetches[presentName(i, part)] = inPlace ? buffer : null;
      }
    });
    const out = await this.runGraph(tensors, fetches);
    if (newOutputs) writePositions(cache, out(NEW_KEY_VALUES), pastLength);
    return { logits: out('logits'), cache: inPlace ? cache : cache.map((_, i) => ({ key: out(presentName(i, 'key')), value: out(presentName(i, 'value')) })) };
  }
}

/**
 * Writes `added` [B, T, L·w] (the graph's new_key_values: per layer a block of w columns ending
 * with its new keys, then its new values, each [B, T, H·D]; w = 3·H·D where the block starts with
 * the queries, GroupQueryAttention's packed input) into the layers' buffers [B, H, C, D] at
 * positions `at` … `at` + T − 1.
 */
function writePositions(cache: KvCache, added: OutputTensor, at: number): void {
  const [B, H, C, D] = cache[0]!.key.dims as [number, number, number, number];
  const [rows, T, width] = added.dims as [number, number, number];
  const block = width / cache.length;
  if (added.dims.length !== 3 || rows !== B || (block !== 2 * H * D && block !== 3 * H * D) || at + T > C) {
    throw new ShapeError(`new keys and values [${added.dims}] do not fit ${cache.length} layers of [${cache[0]!.key.dims}] at position ${at}`);
  }
  cache.forEach((layer, i) => {
    [layer.key, layer.value].forEach((buffer, part) => {
      const offset = (i + 1) * block - (2 - part) * H * D;
      for (let b = 0; b < B; b++) {
        for (let t = 0; t < T; t++) {
          for (let h = 0; h < H; h++) {
            const from = (b * T + t) * width + offset + h * D;
            buffer.data.set(added.data.subarray(from, from + D), ((b * H + h) * C + at + t) * D);
          }
        }
      }
    });
  });
}

/** The graph of a one-graph text export: a classifier's or LM's forward graph, or an LM's KV-cache graph (both `run`). */
export type TextModelSession = TokenForwardSession | CachedLmSession;

/** `model` as the graph of a one-graph text export; a ShapeError naming the graph it holds otherwise. */
export function textModelSession(model: GraphSession): TextModelSession {
  if (model instanceof TokenForwardSession || model instanceof CachedLmSession) return model;
  throw new ShapeError(`${model.source} holds a ${model.config.preset} '${model.graph}' graph, not a text classifier's or language model's`);
}
