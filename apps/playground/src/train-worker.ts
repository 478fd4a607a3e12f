// The in-page training run, off the main thread so the page (and its loss chart) stays live.
// Messages in: WorkerRequest (start a run; stop it after the current step); messages out:
// TrainEvent, or { type: 'error' }.

import * as tf from '@tensorflow/tfjs-core';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { setupBackend, type BackendName } from '@attend/transformer';
import { trainAndExport } from './train.js';
import type { TrainEvent, TrainStart, WorkerRequest } from './train-check.js';

export type { TrainStart, WorkerRequest } from './train-check.js';

export type WorkerMessage = TrainEvent | { type: 'error'; message: string };

const post = (message: WorkerMessage, transfer: Transferable[] = []): void => (self as unknown as Worker).postMessage(message, transfer);

/** The run in progress (one per worker). */
const controller = new AbortController();

self.onmessage = async (event: MessageEvent<WorkerRequest>) => {
  if (event.data.type === 'stop') {
    controller.abort();
    return;
  }
  const { request, backend, wasmBase } = event.data.start;
  try {
    setWasmPaths(wasmBase);
    // One thread: the threaded build needs its own worker script, and tiny models gain nothing.
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    if (backend === 'webgpu') await import('@tensorflow/tfjs-backend-webgpu');
    const preference: BackendName[] = backend === 'wasm' ? ['wasm', 'cpu'] : [backend, 'wasm', 'cpu'];
    const info = await setupBackend(preference);
    post({ type: 'backend', name: tf.getBackend(), fallbacks: info.fallbacks });
    await trainAndExport(request, (e) => {
      if (e.type === 'done') post(e, Object.values(e.files).map((b) => b.buffer as ArrayBuffer));
      else post(e);
    }, controller.signal);
  } catch (error) {
    post({ type: 'error', message: (error as Error).message.split('\n')[0] ?? String(error) });
  }
};
