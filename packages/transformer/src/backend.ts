// Picks and prepares the tfjs backend. In Node the default is the wasm backend (SIMD),
// which is ~28× faster than the pure-JS `cpu` backend on this project's machines but lacks
// a few kernels that training needs; those are registered here (see kernels/).
// Importing this module has no side effects; call `setupBackend()` once before building models.

import * as tf from '@tensorflow/tfjs-core';
// The union package registers every gradient (tfjs-core's own registration file is ESM-only
// with extensionless imports, which Node cannot load).
import '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { registerMissingWasmKernels } from './kernels/index.js';

export const BACKENDS = ['wasm', 'cpu', 'webgl', 'webgpu'] as const;
export type BackendName = (typeof BACKENDS)[number];

export interface BackendInfo {
  name: string;
  /** Backends that were tried first and failed, with the reason. */
  fallbacks: { name: string; reason: string }[];
}

/**
 * Selects the first backend in `preference` that initialises (default: wasm, then cpu).
 * webgl/webgpu must be registered by the caller (e.g. a browser app importing their packages).
 * Enables tfjs production mode unless `prodMode: false`.
 */
export async function setupBackend(preference: readonly BackendName[] = ['wasm', 'cpu'], options: { prodMode?: boolean } = {}): Promise<BackendInfo> {
  // Production mode skips tfjs's per-op debug checks and its console banners (libraries don't print).
  if (options.prodMode ?? true) tf.enableProdMode();
  const fallbacks: BackendInfo['fallbacks'] = [];
  for (const name of preference) {
    if (!(BACKENDS as readonly string[]).includes(name)) {
      throw new Error(`backend: unknown backend '${name}'; expected one of ${BACKENDS.join(', ')}`);
    }
    if (tf.findBackendFactory(name) === null) {
      fallbacks.push({ name, reason: 'not registered (import its @tensorflow/tfjs-backend-* package)' });
      continue;
    }
    let ok = false;
    try {
      ok = await tf.setBackend(name);
      await tf.ready();
    } catch (error) {
      fallbacks.push({ name, reason: (error as Error).message });
      continue;
    }
    if (!ok) {
      fallbacks.push({ name, reason: 'failed to initialise' });
      continue;
    }
    if (name === 'wasm') registerMissingWasmKernels();
    return { name, fallbacks };
  }
  throw new Error(`backend: none of ${preference.join(', ')} could be initialised (${fallbacks.map((f) => `${f.name}: ${f.reason}`).join('; ')})`);
}
