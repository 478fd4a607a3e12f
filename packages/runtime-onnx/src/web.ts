// @attend/runtime-onnx for browsers (and Node, for tests): onnxruntime-web, devices 'wasm'
// and 'webgpu'; export folders read through fetch or any ReadFile (files picked in a page).
// The default build serves both devices; its `webgpu` build, loaded on demand
// (webGpuCacheSessions), also keeps a shared-cache graph's KV cache in GPU buffers.

import * as ort from 'onnxruntime-web';
import { CheckpointError } from '@attend/core';
import { EXPORT_LAYOUTS, openExportFolder, type CheckedExportFolder, type CreateSession, type OpenedExportFolder, type OpenExportFolderOptions, type ReadFile } from './export-folder.js';
import type { GpuDevice } from './gpu-cache.js';
import { OnnxModel, type OrtRuntime, type SessionOptions } from './session.js';

export * from './index.js';

/**
 * Loads ONNX bytes into an onnxruntime-web session (default device 'wasm'). `numThreads`
 * sets onnxruntime-web's process-wide WASM thread count, which takes effect before its first session.
 */
export function createOnnxModel(bytes: Uint8Array, options: SessionOptions = {}): Promise<OnnxModel> {
  return createWith(ort, ort, bytes, options);
}

/** A session over `runtime`, an onnxruntime-web build `build`, whose WASM thread count `numThreads` sets. */
function createWith(build: typeof ort, runtime: OrtRuntime, bytes: Uint8Array, options: SessionOptions): Promise<OnnxModel> {
  if (options.numThreads) build.env.wasm.numThreads = options.numThreads;
  return OnnxModel.create(runtime, 'web', bytes, options);
}

let webGpuBuild: Promise<CreateSession> | undefined;

/**
 * createOnnxModel over onnxruntime-web's `webgpu` build (its native WebGPU execution provider),
 * imported on the first call, so a page that never asks loads the default build alone. That
 * build's GroupQueryAttention writes into a GPU buffer bound as both past and present, so there
 * a decoder-lm folder's shared-cache graph opens on 'webgpu' and generates with its cache in GPU
 * buffers (gpu-cache.ts); the default build's does not. Its WASM settings (file paths, threads,
 * log level) are copied from the default build's at the first call; it needs its own WASM files
 * (ort-wasm-simd-threaded.asyncify.{mjs,wasm}) beside the default build's.
 */
export function webGpuCacheSessions(): Promise<CreateSession> {
  webGpuBuild ??= import('onnxruntime-web/webgpu').then(
    (build) => {
      build.env.wasm.wasmPaths = ort.env.wasm.wasmPaths;
      build.env.wasm.numThreads = ort.env.wasm.numThreads;
      build.env.logLevel = ort.env.logLevel;
      const runtime: OrtRuntime = {
        InferenceSession: build.InferenceSession,
        Tensor: build.Tensor,
        gpuCache: {
          device: async () => (await build.env.webgpu.device) as unknown as GpuDevice,
          fromGpuBuffer: (buffer, { dataType, dims }) => build.Tensor.fromGpuBuffer(buffer as unknown as Parameters<typeof build.Tensor.fromGpuBuffer>[0], { dataType, dims }),
        },
      };
      return (bytes, options) => createWith(build, runtime, bytes, options);
    },
    (error: unknown) => {
      webGpuBuild = undefined; // a failed import is tried again next time
      throw error;
    },
  );
  return webGpuBuild;
}

/** Whether `folder` holds a graph that opens on 'webgpu' only over webGpuCacheSessions (a decoder-lm's shared-cache graph). */
export function usesWebGpuCache(folder: CheckedExportFolder): boolean {
  return Object.values(EXPORT_LAYOUTS[folder.config.preset].optionalGraphs ?? {}).some((g) => g.devices.includes('webgpu') && folder.graphs[g.file] !== undefined);
}

/**
 * The files of the folder served at `baseUrl`, fetched on demand: a 404 reads as missing,
 * another HTTP failure is a CheckpointError naming the URL.
 */
export function fetchReadFile(baseUrl: string, fetcher: typeof fetch = fetch): ReadFile {
  const base = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  return async (name) => {
    const response = await fetcher(`${base}${name}`);
    if (response.status === 404) return undefined;
    if (!response.ok) throw new CheckpointError(`${base}${name}: HTTP ${response.status}`);
    return new Uint8Array(await response.arrayBuffer());
  };
}

/**
 * Opens an export folder (any preset) on onnxruntime-web — `source` a ReadFile, or the URL of
 * a served folder — see openExportFolder. Errors name the files by their URLs.
 */
export function openExport(source: string | ReadFile, options: OpenExportFolderOptions = {}): Promise<OpenedExportFolder> {
  if (typeof source !== 'string') return openExportFolder(source, createOnnxModel, options);
  const base = source.endsWith('/') ? source : `${source}/`;
  return openExportFolder(fetchReadFile(base), createOnnxModel, { fileName: (name) => `${base}${name}`, ...options });
}
