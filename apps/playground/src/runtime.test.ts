import { describe, expect, it } from 'vitest';
import { pickDevice, shortReason, wasmThreads } from './runtime.js';

const env = (crossOriginIsolated: boolean, hardwareConcurrency: number, hasWebGpu = false) => ({ crossOriginIsolated, hardwareConcurrency, hasWebGpu });

describe('runtime choices', () => {
  it('uses threads only when cross-origin isolated, at most 4', () => {
    expect(wasmThreads(env(false, 8))).toBe(1);
    expect(wasmThreads(env(true, 2))).toBe(2);
    expect(wasmThreads(env(true, 16))).toBe(4);
    expect(wasmThreads(env(true, 0))).toBe(1);
  });

  it('auto means WebGPU when there is an adapter; asking for missing WebGPU is an error', () => {
    expect(pickDevice(env(false, 1, true), 'auto')).toBe('webgpu');
    expect(pickDevice(env(false, 1, false), 'auto')).toBe('wasm');
    expect(pickDevice(env(false, 1, true), 'wasm')).toBe('wasm');
    expect(() => pickDevice(env(false, 1, false), 'webgpu')).toThrow(/^WebGPU is not available in this browser/);
  });

  it('keeps the gist of a runtime failure', () => {
    expect(shortReason('no available backend found. ERR: [webgpu] Error: Failed to get GPU adapter. You may need to enable flag "--enable-unsafe-webgpu".')).toBe('Failed to get GPU adapter');
    expect(shortReason('out of memory')).toBe('out of memory');
  });
});
