// The KV cache of one decoder-lm generation run, over either KV-cache graph:
//   - 'decoder-with-past' (the export folder's model.onnx, transformers.js's interface): each
//     call hands the whole past to ONNX Runtime and gets the extended cache back, a new
//     [B, H, P + T, D] tensor per layer (O(P) copies per token, in the graph and across to JS);
//   - 'decoder-shared-cache' (exportForward's kvCache: 'shared'): one [B, H, C, D] buffer per
//     layer key and value, the past input of every call, updated in place (onnxruntime-node's
//     CPU): the graph returns the new tokens' keys and values alone and the session writes them
//     into the buffers, so no cache tensors cross to JS per call. (A graph exported before those
//     outputs existed gets the buffers bound as its present outputs too; onnxruntime-node copies
//     every output it returns, the bound ones included, so such a call costs a copy of C
//     positions.) C grows by doubling as the run needs, up to maxSeqLen;
//     growth beyond maxSeqLen is refused by the session. On onnxruntime-web's wasm, which copies
//     inputs and bound outputs into its own heap (and does not write a bound output back), the
//     buffers hold the filled positions alone and the present outputs replace them every call:
//     the standard graph's copies, with GroupQueryAttention's kernel (see SharedCacheLmSession).
//     On webgpu over onnxruntime-web's `webgpu` build the buffers are GPU buffers (gpu-cache.ts).
// Beam search reorders rows by `parents` (core's decoding): both gather the rows they keep.

import { ShapeError } from '@attend/core';
import type { ForwardOutputs, KvCache, OnnxModel, OutputTensor, TokenMatrix } from './session.js';
import { CachedLmSession, SharedCacheLmSession } from './models/decoder-lm/session.js';
import { GpuSharedCache } from './gpu-cache.js';

/** The tokens of one KV-cache call: the new tokens [B, T] and the mask over cached and new tokens [B, P + T]. */
export interface CacheFeeds {
  inputIds: TokenMatrix;
  attentionMask: TokenMatrix;
}

/** A decoder-lm KV cache for one generation run (see the top of this file). */
export interface DecodeCache {
  /** Drops what is cached and runs whole sequences (P = 0), caching them. */
  start(feeds: CacheFeeds): Promise<ForwardOutputs>;
  /**
   * Runs new tokens after the cached ones: row i of the call continues cached row `parents[i]`
   * (rows may repeat or go; the identity leaves the cache as it is).
   */
  extend(feeds: CacheFeeds, parents: Int32Array): Promise<ForwardOutputs>;
  /** Forgets what is cached (the buffers of a shared cache are kept for the next `start`). */
  drop(): void;
  /** Whether anything is cached. */
  readonly filled: boolean;
}

/**
 * The DecodeCache for `model`'s KV-cache graph ('decoder-with-past' or 'decoder-shared-cache');
 * a 'decoder-with-past' session given its folder's in-place graph (CachedLmSession.inPlaceCache) runs that one.
 */
export function openDecodeCache(model: OnnxModel): DecodeCache {
  if (model instanceof SharedCacheLmSession) return sharedCache(model);
  if (model instanceof CachedLmSession) return model.inPlaceCache ? sharedCache(model.inPlaceCache) : new PastCache(model);
  throw new ShapeError(`generation over ONNX needs a decoder-lm KV-cache export (kvCache: true or 'shared'); this model is a '${model.config.preset}' ${model.graph} graph`);
}

/** The shared-cache graph's cache: in GPU buffers where its session keeps them there (gpu-cache.ts), else in CPU buffers. */
function sharedCache(model: SharedCacheLmSession): DecodeCache {
  const gpu = model.gpuCache;
  return gpu ? new GpuSharedCache(model, gpu) : new SharedCache(model);
}

/** The cache returned by the graph as its present outputs, fed back as the next past. */
class PastCache implements DecodeCache {
  private cache: KvCache | undefined;

  constructor(private readonly model: CachedLmSession) {}

  get filled(): boolean {
    return this.cache !== undefined;
  }

  async start(feeds: CacheFeeds): Promise<ForwardOutputs> {
    const out = await this.model.runCached(feeds);
    this.cache = out.present;
    return out;
  }

  async extend(feeds: CacheFeeds, parents: Int32Array): Promise<ForwardOutputs> {
    const cache = this.cache;
    if (!cache) return this.start(feeds);
    const past = isIdentity(parents, cache[0]!.key.dims[0]!) ? cache : cache.map((layer) => ({ key: gatherRows(layer.key, parents), value: gatherRows(layer.value, parents) }));
    const out = await this.model.runCached({ ...feeds, past });
    this.cache = out.present;
    return out;
  }

  drop(): void {
    this.cache = undefined;
  }
}

/**
 * One [B, H, C, D] buffer per layer key and value, updated in place by the graph (on wasm:
 * replaced by the present outputs, C the filled positions alone). In place, the session fetches
 * only the new positions' keys and values (`new_key_values.*`) and writes them into these
 * buffers, and the capacity C grows (doubling, up to maxSeqLen) only when a call would overflow
 * it, so C stays within twice what the run holds.
 */
class SharedCache implements DecodeCache {
  private buffers: KvCache | undefined;
  /** Positions filled in every row (left padding included). */
  private length = 0;

  constructor(private readonly model: SharedCacheLmSession) {}

  get filled(): boolean {
    return this.length > 0;
  }

  async start(feeds: CacheFeeds): Promise<ForwardOutputs> {
    const B = feeds.inputIds.batchSize;
    if (this.buffers?.[0]?.key.dims[0] !== B) this.buffers = undefined;
    this.length = 0;
    return this.run(feeds);
  }

  async extend(feeds: CacheFeeds, parents: Int32Array): Promise<ForwardOutputs> {
    const buffers = this.buffers;
    if (!buffers || this.length === 0) return this.start(feeds);
    if (!isIdentity(parents, buffers[0]!.key.dims[0]!)) this.buffers = buffers.map((layer) => ({ key: gatherRows(layer.key, parents), value: gatherRows(layer.value, parents) }));
    return this.run(feeds);
  }

  drop(): void {
    this.length = 0;
  }

  private async run(feeds: CacheFeeds): Promise<ForwardOutputs> {
    const { batchSize: B, seqLen: T } = feeds.inputIds;
    const capacity = this.buffers?.[0]?.key.dims[2] ?? 0;
    if (!this.model.inPlace) {
      if (!this.buffers || capacity !== this.length) this.buffers = this.grow(B, this.length); // the filled positions alone (see SharedCacheLmSession)
    } else if (this.length + T > capacity) this.buffers = this.grow(B, Math.max(this.length + T, 2 * capacity, 32));
    const { logits, cache } = await this.model.runSharedCache(feeds, this.buffers!, this.length);
    this.buffers = cache;
    this.length += T;
    return { logits, attentions: {} };
  }

  /** Buffers of `capacity` positions (at most maxSeqLen) for `B` rows, holding what is cached. */
  private grow(B: number, capacity: number): KvCache {
    const c = this.model.config;
    const H = c.numHeads;
    const D = c.dModel / H;
    const C = Math.min(capacity, c.maxSeqLen);
    const dims = [B, H, C, D];
    const resized = (old: OutputTensor | undefined): OutputTensor => {
      const data = new Float32Array(B * H * C * D);
      const from = old?.dims[2] ?? 0;
      for (let r = 0; old && r < B * H; r++) data.set(old.data.subarray(r * from * D, (r * from + this.length) * D), r * C * D);
      return { data, dims };
    };
    return Array.from({ length: c.numDecoderLayers }, (_, i) => ({ key: resized(this.buffers?.[i]?.key), value: resized(this.buffers?.[i]?.value) }));
  }
}

function isIdentity(parents: Int32Array, rows: number): boolean {
  return parents.length === rows && parents.every((p, i) => p === i);
}

/** Rows `parents` of a [rows, ...] tensor, in that order (rows may repeat). */
export function gatherRows(t: OutputTensor, parents: Int32Array): OutputTensor {
  const rows = t.dims[0]!;
  const size = rows === 0 ? 0 : t.data.length / rows;
  const data = new Float32Array(parents.length * size);
  parents.forEach((p, i) => {
    if (p < 0 || p >= rows) throw new ShapeError(`parent row ${p} is outside [0, ${rows})`);
    data.set(t.data.subarray(p * size, (p + 1) * size), i * size);
  });
  return { data, dims: [parents.length, ...t.dims.slice(1)] };
}
