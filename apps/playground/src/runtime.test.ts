import { describe, expect, it } from 'vitest';
import { memoryFolderFiles, readModelFolder } from './model-folder.js';
import { openSessions, pickDevice, releaseSessions, shortReason, wasmThreads, type DeviceChoice } from './runtime.js';
import { tinyExport } from './test-utils/fixtures.js';

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
    expect(() => pickDevice(env(false, 1, true), 'cuda' as DeviceChoice)).toThrow("device 'cuda' is not available with @attend/runtime-onnx/web ('cuda' needs @attend/runtime-onnx/node); valid: wasm, webgpu");
  });

  it('opens the sessions of a checked folder on wasm, by the playground\'s kinds', async () => {
    const folder = await readModelFolder(memoryFolderFiles(await tinyExport('rnn-seq2seq')), 'g/');
    const opened = await openSessions(folder, 'wasm');
    expect([opened.sessions.kind, opened.device, opened.fallbacks]).toEqual(['rnn', 'wasm', []]);
    if (opened.sessions.kind !== 'rnn') throw new Error('unreachable');
    expect(opened.sessions.decoder.graph).toBe('rnn-seq2seq-decoder');
    await releaseSessions(opened.sessions);
  });

  it('keeps the gist of a runtime failure', () => {
    expect(shortReason('no available backend found. ERR: [webgpu] Error: Failed to get GPU adapter. You may need to enable flag "--enable-unsafe-webgpu".')).toBe('Failed to get GPU adapter');
    expect(shortReason('out of memory')).toBe('out of memory');
  });
});
