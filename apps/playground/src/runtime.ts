// onnxruntime-web for the page: where its wasm files are served, how many threads it may use
// (several only when the page is cross-origin isolated, i.e. SharedArrayBuffer exists), and
// which device runs the sessions (WebGPU when the browser has navigator.gpu, else its fallback
// in runtime-onnx's device table, WASM), and the sessions of a checked folder, opened by
// runtime-onnx's export-folder loader (on WebGPU, a decoder-lm folder with the in-place cache
// graph through onnxruntime-web's webgpu build, imported only then).

import * as ort from 'onnxruntime-web';
import type { Preset } from '@attend/core';
import { CachedLmSession, createOnnxModel, DEVICES, openExportSessions, resolveDevice, usesWebGpuCache, webGpuCacheSessions } from '@attend/runtime-onnx/web';
import type { Sessions } from './decode.js';
import type { ModelFolder } from './model-folder.js';

export type DeviceChoice = 'auto' | 'wasm' | 'webgpu';

export interface RuntimeEnvironment {
  crossOriginIsolated: boolean;
  hardwareConcurrency: number;
  hasWebGpu: boolean;
}

/** WASM threads: up to 4 when isolated (SharedArrayBuffer available), else 1. */
export function wasmThreads(env: RuntimeEnvironment): number {
  return env.crossOriginIsolated ? Math.max(1, Math.min(4, env.hardwareConcurrency || 1)) : 1;
}

/** The device to ask for, checked against runtime-onnx's device table: 'auto' means WebGPU when the browser exposes it, else its fallback. */
export function pickDevice(env: RuntimeEnvironment, choice: DeviceChoice): 'wasm' | 'webgpu' {
  if (choice === 'webgpu' && !env.hasWebGpu) throw new Error('WebGPU is not available in this browser (no navigator.gpu adapter); choose wasm or auto');
  const device = choice !== 'auto' ? choice : env.hasWebGpu ? 'webgpu' : DEVICES.webgpu.fallback!;
  return resolveDevice(device, 'web').device as 'wasm' | 'webgpu';
}

/** What this browser offers; WebGPU counts only when navigator.gpu hands out an adapter. */
export async function browserEnvironment(): Promise<RuntimeEnvironment> {
  const gpu = (navigator as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  let hasWebGpu = false;
  try {
    hasWebGpu = gpu !== undefined && (await gpu.requestAdapter()) !== null;
  } catch {
    hasWebGpu = false;
  }
  return { crossOriginIsolated: globalThis.crossOriginIsolated === true, hardwareConcurrency: navigator.hardwareConcurrency ?? 1, hasWebGpu };
}

/** Points onnxruntime-web at the app's copy of its wasm files and sets the thread count (before any session). */
export function configureOrt(wasmBase: string, threads: number): void {
  ort.env.wasm.wasmPaths = wasmBase;
  ort.env.wasm.numThreads = threads;
  ort.env.logLevel = 'error';
}

export interface OpenedSessions {
  sessions: Sessions;
  /** The device that runs them, and devices that were tried first and failed. */
  device: string;
  fallbacks: { device: string; reason: string }[];
  /** The in-place KV-cache graph that generation runs, when the folder's was opened ("KV cache in GPU buffers (onnx/model_shared_cache.onnx)"). */
  kvCache?: string;
}

/** The playground's sessions of each preset. */
const SESSION_KINDS: Record<Preset, Sessions['kind']> = {
  'decoder-lm': 'lm',
  'encoder-classifier': 'classifier',
  'vit-classifier': 'image',
  'encoder-decoder': 'seq2seq',
  'rnn-seq2seq': 'rnn',
  'canvas-classifier': 'image',
  'stn-classifier': 'image',
  'glimpse-classifier': 'image',
  'image-captioner': 'caption',
  'vision-encoder-decoder': 'caption',
};

/** Creates the ONNX Runtime sessions of a checked folder; releases what it made if one fails. */
/**
 * Creates the ONNX Runtime sessions of a checked folder; releases what it made if one fails. On
 * WebGPU a folder with an in-place KV-cache graph opens on onnxruntime-web's webgpu build, loaded
 * only then, whose GPU buffers hold that graph's cache; every other folder and device on the default build.
 */
export async function openSessions(folder: ModelFolder, device: 'wasm' | 'webgpu'): Promise<OpenedSessions> {
  const create = device === 'webgpu' && usesWebGpuCache(folder) ? await webGpuCacheSessions() : createOnnxModel;
  const opened = await openExportSessions(folder, create, { device, fileName: (name) => `${folder.source}${name}` });
  const kind = SESSION_KINDS[folder.config.preset];
  const model = 'model' in opened.sessions ? opened.sessions.model : undefined;
  const inPlace = model instanceof CachedLmSession ? model.inPlaceCache : undefined;
  const kvCache = inPlace ? `KV cache ${inPlace.gpuCache ? 'in GPU buffers' : 'in place'} (${inPlace.source})` : undefined;
  return { sessions: { kind, ...opened.sessions } as Sessions, device: opened.device, fallbacks: opened.fallbacks, ...(kvCache ? { kvCache } : {}) };
}

/** The gist of a runtime's failure message ("Failed to get GPU adapter"), for one line in the page. */
export function shortReason(reason: string): string {
  const gist = reason.replace(/^.*\bError:\s*/, '').split(/\.\s/)[0]!.trim();
  return gist === '' ? reason : gist.replace(/\.$/, '');
}

export async function releaseSessions(s: Sessions): Promise<void> {
  if ('model' in s) await s.model.release();
  else await Promise.all([s.encoder.release(), s.decoder.release()]);
}
