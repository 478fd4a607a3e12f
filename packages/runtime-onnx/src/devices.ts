// The one place that maps a device name to ONNX Runtime execution providers (as
// transformers.js does): which runtime package serves it, and what it falls back to.

export const DEVICES = Object.freeze({
  cpu: Object.freeze({ runtime: 'node', executionProviders: Object.freeze(['cpu']) }),
  cuda: Object.freeze({ runtime: 'node', executionProviders: Object.freeze(['cuda']), fallback: 'cpu' }),
  wasm: Object.freeze({ runtime: 'web', executionProviders: Object.freeze(['wasm']) }),
  webgpu: Object.freeze({ runtime: 'web', executionProviders: Object.freeze(['webgpu']), fallback: 'wasm' }),
} as const);

export type Device = keyof typeof DEVICES;
export type Runtime = 'node' | 'web';

export interface ResolvedDevice {
  device: Device;
  executionProviders: string[];
  /** Device to use when this one cannot start (a GPU missing), if any. */
  fallback?: Device;
}

/** Checks `device` against the devices that `runtime` (onnxruntime-node or -web) serves. */
export function resolveDevice(device: string, runtime: Runtime): ResolvedDevice {
  const valid = (Object.keys(DEVICES) as Device[]).filter((d) => DEVICES[d].runtime === runtime);
  if (!(valid as string[]).includes(device)) {
    const elsewhere = device in DEVICES ? ` ('${device}' needs @attend/runtime-onnx/${runtime === 'node' ? 'web' : 'node'})` : '';
    throw new Error(`device '${device}' is not available with @attend/runtime-onnx/${runtime}${elsewhere}; valid: ${valid.join(', ')}`);
  }
  const entry: { executionProviders: readonly string[]; fallback?: Device } = DEVICES[device as Device];
  return { device: device as Device, executionProviders: [...entry.executionProviders], ...(entry.fallback ? { fallback: entry.fallback } : {}) };
}
