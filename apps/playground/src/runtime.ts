// onnxruntime-web for the page: where its wasm files are served, how many threads it may use
// (several only when the page is cross-origin isolated, i.e. SharedArrayBuffer exists), and
// which device runs the sessions (WebGPU when the browser has navigator.gpu, else WASM).

import * as ort from 'onnxruntime-web';
import { createOnnxModel, SEQ2SEQ_FILES, EXPORT_FILES, RNN_SEQ2SEQ_FILES, type OnnxModel } from '@attend/runtime-onnx/web';
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

/** The device to ask for: 'auto' means WebGPU when the browser exposes it. */
export function pickDevice(env: RuntimeEnvironment, choice: DeviceChoice): 'wasm' | 'webgpu' {
  if (choice === 'auto') return env.hasWebGpu ? 'webgpu' : 'wasm';
  if (choice === 'webgpu' && !env.hasWebGpu) throw new Error('WebGPU is not available in this browser (no navigator.gpu adapter); choose wasm or auto');
  return choice;
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
}

/** Creates the ONNX Runtime sessions of a checked folder; releases what it made if one fails. */
export async function openSessions(folder: ModelFolder, device: 'wasm' | 'webgpu'): Promise<OpenedSessions> {
  const made: OnnxModel[] = [];
  const open = async (name: string): Promise<OnnxModel> => {
    const model = await createOnnxModel(folder.graphs[name]!, { device, source: `${folder.source}${name}` });
    made.push(model);
    return model;
  };
  try {
    if (folder.config.preset === 'encoder-decoder' || folder.config.preset === 'rnn-seq2seq') {
      const files = folder.config.preset === 'rnn-seq2seq' ? RNN_SEQ2SEQ_FILES : SEQ2SEQ_FILES;
      const encoder = await open(files.encoder);
      const decoder = await open(files.decoder);
      const sessions: Sessions = folder.config.preset === 'rnn-seq2seq' ? { kind: 'rnn', encoder, decoder } : { kind: 'seq2seq', encoder, decoder };
      return { sessions, device: decoder.device, fallbacks: decoder.fallbacks };
    }
    const model = await open(EXPORT_FILES.model);
    const sessions: Sessions = folder.config.preset === 'vit-classifier' ? { kind: 'image', model } : { kind: 'lm', model };
    return { sessions, device: model.device, fallbacks: model.fallbacks };
  } catch (error) {
    await Promise.all(made.map((m) => m.release()));
    throw error;
  }
}

/** The gist of a runtime's failure message ("Failed to get GPU adapter"), for one line in the page. */
export function shortReason(reason: string): string {
  const gist = reason.replace(/^.*\bError:\s*/, '').split(/\.\s/)[0]!.trim();
  return gist === '' ? reason : gist.replace(/\.$/, '');
}

export async function releaseSessions(s: Sessions): Promise<void> {
  if (s.kind === 'lm' || s.kind === 'image') await s.model.release();
  else await Promise.all([s.encoder.release(), s.decoder.release()]);
}
