// The one place that maps a device name to ONNX Runtime execution providers (as
// transformers.js does): which runtime package serves it, whether it runs in a Node.js process,
// its providers, and what it falls back to. Providers are a union keyed on `name` with their
// options, as onnxruntime-common's InferenceSession.ExecutionProviderConfig.

import { AttendError } from '@attend/core';

/** An execution provider and its options (the onnxruntime-common option names). */
export type ExecutionProvider =
  | { readonly name: 'cpu' }
  | {
      readonly name: 'cuda';
      /** GPU index; default 0. */
      readonly deviceId?: number;
    }
  | { readonly name: 'wasm' }
  | {
      readonly name: 'webgpu';
      /** Layout of layout-sensitive operators; default 'NCHW'. */
      readonly preferredLayout?: 'NCHW' | 'NHWC';
    };

export type Runtime = 'node' | 'web';

export type Device = 'cpu' | 'cuda' | 'wasm' | 'webgpu';

export interface DeviceEntry {
  /** The runtime package that serves it: onnxruntime-node or onnxruntime-web. */
  readonly runtime: Runtime;
  /** Whether it runs in a Node.js process (onnxruntime-web's wasm does; WebGPU needs a browser). */
  readonly inNode: boolean;
  readonly executionProviders: readonly ExecutionProvider[];
  /** Device to use when this one cannot start (a GPU missing), if any. */
  readonly fallback?: Device;
}

const entry = (e: DeviceEntry): DeviceEntry => Object.freeze({ ...e, executionProviders: Object.freeze(e.executionProviders.map((p) => Object.freeze({ ...p }))) });

export const DEVICES: Readonly<Record<Device, DeviceEntry>> = Object.freeze({
  cpu: entry({ runtime: 'node', inNode: true, executionProviders: [{ name: 'cpu' }] }),
  cuda: entry({ runtime: 'node', inNode: true, executionProviders: [{ name: 'cuda' }], fallback: 'cpu' }),
  wasm: entry({ runtime: 'web', inNode: true, executionProviders: [{ name: 'wasm' }] }),
  webgpu: entry({ runtime: 'web', inNode: false, executionProviders: [{ name: 'webgpu' }], fallback: 'wasm' }),
});

/** Every device, in table order. */
export const DEVICE_NAMES = Object.freeze(Object.keys(DEVICES) as Device[]);

/** The devices a Node.js process can run (onnxruntime-node's, and onnxruntime-web's wasm). */
export const NODE_DEVICES = Object.freeze(DEVICE_NAMES.filter((d) => DEVICES[d].inNode));

/** A device name that is not in the table, or not served where it was asked for. */
export class DeviceError extends AttendError {
  override readonly name = 'DeviceError';
}

/** Options of the device's execution provider. */
export interface DeviceOptions {
  /** 'cuda' only: the GPU index; default 0. */
  deviceId?: number;
}

export interface ResolvedDevice {
  device: Device;
  runtime: Runtime;
  executionProviders: ExecutionProvider[];
  /** Device to use when this one cannot start (a GPU missing), if any. */
  fallback?: Device;
}

/**
 * Checks `device` against the table, or against the devices that `runtime` (onnxruntime-node or
 * -web) serves when given, and applies `options` to its provider; the error lists the valid devices.
 */
export function resolveDevice(device: string, runtime?: Runtime, options: DeviceOptions = {}): ResolvedDevice {
  const valid = DEVICE_NAMES.filter((d) => runtime === undefined || DEVICES[d].runtime === runtime);
  if (!(valid as string[]).includes(device)) {
    const where = runtime ? ` with @attend/runtime-onnx/${runtime}` : '';
    const elsewhere = runtime && device in DEVICES ? ` ('${device}' needs @attend/runtime-onnx/${DEVICES[device as Device].runtime})` : '';
    throw new DeviceError(`device '${device}' is not available${where}${elsewhere}; valid: ${valid.join(', ')}`);
  }
  const d = device as Device;
  const { deviceId } = options;
  if (deviceId !== undefined) {
    if (d !== 'cuda') throw new DeviceError(`deviceId is for device 'cuda'; '${d}' takes none`);
    if (!Number.isInteger(deviceId) || deviceId < 0) throw new DeviceError(`deviceId must be a non-negative integer, got ${deviceId}`);
  }
  const row: DeviceEntry = DEVICES[d];
  const executionProviders = row.executionProviders.map((p): ExecutionProvider => (p.name === 'cuda' && deviceId !== undefined ? { ...p, deviceId } : { ...p }));
  return { device: d, runtime: row.runtime, executionProviders, ...(row.fallback ? { fallback: row.fallback } : {}) };
}
