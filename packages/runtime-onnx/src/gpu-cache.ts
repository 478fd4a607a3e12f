// The decoder-lm shared-cache graph's KV cache in GPU buffers (onnxruntime-web's `webgpu` build
// on device 'webgpu'): one buffer of maxSeqLen positions per layer key and value, allocated once
// per batch size and bound as both the past input and the present output of every call, so the
// native WebGPU execution provider's GroupQueryAttention writes the new keys and values into it
// on the device. Only the logits come back to JavaScript each step. Unlike onnxruntime-node,
// which copies every returned output (kv-cache.ts grows its CPU buffers by doubling for that
// reason), nothing here costs per position held, so the buffers start at full size. Beam
// search's reordering copies the rows it keeps from buffer to buffer on the device.

import { ShapeError } from '@attend/core';
import type { Tensor } from 'onnxruntime-common';
import type { ForwardOutputs } from './graph-session.js';
import type { CacheFeeds, DecodeCache } from './kv-cache.js';
import type { SharedCacheLmSession } from './models/decoder-lm/session.js';

/** The parts of a WebGPU `GPUBuffer` the cache uses. */
export interface GpuBuffer {
  destroy(): void;
}

/** The parts of a WebGPU `GPUDevice` the cache uses (no @webgpu/types here). */
export interface GpuDevice {
  createBuffer(descriptor: { size: number; usage: number }): GpuBuffer;
  createCommandEncoder(): { copyBufferToBuffer(source: GpuBuffer, sourceOffset: number, destination: GpuBuffer, destinationOffset: number, size: number): void; finish(): unknown };
  readonly queue: { submit(commandBuffers: unknown[]): void; onSubmittedWorkDone(): Promise<void> };
}

/**
 * What an ONNX Runtime module offers when its WebGPU execution provider shares a buffer bound as
 * both an input and an output (onnxruntime-web's `webgpu` build; see web.ts `webGpuCacheSessions`):
 * the device its sessions run on and tensors over that device's buffers.
 */
export interface GpuCacheRuntime {
  device(): Promise<GpuDevice>;
  fromGpuBuffer(buffer: GpuBuffer, options: { dataType: 'float32'; dims: readonly number[] }): Tensor;
}

/** GPUBufferUsage STORAGE | COPY_SRC | COPY_DST: a kernel's input and output, copied from and to. */
const CACHE_USAGE = 0x80 | 0x04 | 0x08;

/** One layer's key or value buffer and the tensor ONNX Runtime sees over it. */
interface GpuCacheBuffer {
  buffer: GpuBuffer;
  tensor: Tensor;
}

/** One [B, H, maxSeqLen, D] buffer per layer key and value (see the top of this file). */
export class GpuSharedCache implements DecodeCache {
  private buffers: { key: GpuCacheBuffer; value: GpuCacheBuffer }[] | undefined;
  private rows = 0;
  /** Positions filled in every row (left padding included). */
  private length = 0;

  constructor(
    private readonly model: SharedCacheLmSession,
    private readonly gpu: GpuCacheRuntime,
  ) {}

  get filled(): boolean {
    return this.length > 0;
  }

  async start(feeds: CacheFeeds): Promise<ForwardOutputs> {
    const B = feeds.inputIds.batchSize;
    if (this.rows !== B) await this.replace(B, () => {});
    this.length = 0;
    return this.run(feeds);
  }

  async extend(feeds: CacheFeeds, parents: Int32Array): Promise<ForwardOutputs> {
    if (!this.buffers || this.length === 0) return this.start(feeds);
    if (parents.length !== this.rows || parents.some((p, i) => p !== i)) await this.gather(parents);
    return this.run(feeds);
  }

  /** Forgets what is cached; the buffers stay for the next `start` (the browser frees them with this object). */
  drop(): void {
    this.length = 0;
  }

  private async run(feeds: CacheFeeds): Promise<ForwardOutputs> {
    const layers = this.buffers!.map((layer) => ({ key: layer.key.tensor, value: layer.value.tensor }));
    const logits = await this.model.runGpuCache(feeds, layers, this.length);
    this.length += feeds.inputIds.seqLen;
    return { logits, attentions: {} };
  }

  /** Rows `parents` of the cache, in that order (rows may repeat), copied on the device into new buffers. */
  private async gather(parents: Int32Array): Promise<void> {
    const rowBytes = this.rowBytes();
    for (const p of parents) if (p < 0 || p >= this.rows) throw new ShapeError(`parent row ${p} is outside [0, ${this.rows})`);
    await this.replace(parents.length, (copy) => parents.forEach((p, i) => copy(p * rowBytes, i * rowBytes, rowBytes)));
  }

  /**
   * New buffers for `B` rows; `fill` copies (from the old buffers, on the device) what they keep
   * of each layer key and value. The old buffers are destroyed.
   */
  private async replace(B: number, fill: (copy: (from: number, to: number, bytes: number) => void) => void): Promise<void> {
    const device = await this.gpu.device();
    const c = this.model.config;
    const dims = [B, c.numHeads, c.maxSeqLen, c.dModel / c.numHeads];
    const allocate = (): GpuCacheBuffer => {
      const buffer = device.createBuffer({ size: B * this.rowBytes(), usage: CACHE_USAGE });
      return { buffer, tensor: this.gpu.fromGpuBuffer(buffer, { dataType: 'float32', dims }) };
    };
    const old = this.buffers;
    const next = Array.from({ length: c.numDecoderLayers }, () => ({ key: allocate(), value: allocate() }));
    if (old) {
      const encoder = device.createCommandEncoder();
      next.forEach((layer, i) => {
        for (const part of ['key', 'value'] as const) fill((from, to, bytes) => encoder.copyBufferToBuffer(old[i]![part].buffer, from, layer[part].buffer, to, bytes));
      });
      device.queue.submit([encoder.finish()]);
      await device.queue.onSubmittedWorkDone();
      for (const layer of old) for (const part of ['key', 'value'] as const) layer[part].buffer.destroy();
    }
    this.buffers = next;
    this.rows = B;
  }

  /** Bytes of one row of a layer's key or value buffer: [H, maxSeqLen, D] float32. */
  private rowBytes(): number {
    const c = this.model.config;
    return 4 * c.maxSeqLen * c.dModel;
  }
}
