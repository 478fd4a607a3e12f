// Loading and running exported models: dynamic batch and sequence axes; one-line errors for
// missing, corrupt and foreign .onnx files, for checkpoints that do not match, and for bad
// inputs (checked before ONNX Runtime sees them); device resolution and the CUDA fallback.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckpointError, createRng, ShapeError } from '@attend/core';
import { setupBackend } from '@attend/transformer';
import { createOnnxModel, exportCheckpoint, loadOnnxModel } from './node.js';
import { DeviceError, DEVICES, NODE_DEVICES, resolveDevice } from './devices.js';
import { exportCheckpointFiles } from './export.js';
import { GraphBuilder } from './onnx/graph.js';
import { encodeModel } from './onnx/proto.js';
import { OnnxModelError } from './session.js';
import { checkpointFiles, failure, forwardOf, makeModel, MAX_LEN, randomBatch, VOCAB } from './test-utils/models.js';

let dir: string;
let lmBytes: Uint8Array;
let lmFiles: Record<string, Uint8Array>;

beforeAll(async () => {
  await setupBackend();
  dir = await mkdtemp(join(tmpdir(), 'attend-onnx-'));
  const model = makeModel({ preset: 'decoder-lm' }, 1);
  lmFiles = checkpointFiles(model);
  model.dispose();
  lmBytes = exportCheckpointFiles(lmFiles);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('loading', () => {
  it('accepts any batch size and sequence length up to maxSeqLen on one session', async () => {
    const model = await createOnnxModel(lmBytes);
    expect(model.config.preset).toBe('decoder-lm');
    expect([...model.inputNames]).toEqual(['input_ids', 'attention_mask']);
    for (const [B, T] of [[1, 1], [3, 7], [2, MAX_LEN]] as const) {
      const batch = randomBatch(createRng(B * T), Array.from({ length: B }, () => T), T);
      const out = await forwardOf(model).run({ inputIds: { data: batch.ids, batchSize: B, seqLen: T } });
      expect(out.logits.dims).toEqual([B, T, VOCAB]);
      expect(out.logits.data.every(Number.isFinite)).toBe(true);
    }
    await model.release();
  });

  it('a missing .onnx file names the file', async () => {
    const file = join(dir, 'nope.onnx');
    expect(await failure(loadOnnxModel(file), OnnxModelError)).toBe(`${file}: missing (no such file)`);
  });

  it('corrupt bytes, a truncated model or a safetensors file are "not an ONNX model"', async () => {
    const garbage = Uint8Array.from({ length: 300 }, (_, i) => (i * 73 + 11) & 0xff);
    for (const [name, bytes] of [
      ['garbage.onnx', garbage],
      ['truncated.onnx', lmBytes.subarray(0, Math.floor(lmBytes.length / 2))],
      ['weights.onnx', lmFiles['model.safetensors']!],
      ['empty.onnx', new Uint8Array(0)],
    ] as const) {
      const file = join(dir, name);
      await writeFile(file, bytes);
      expect(await failure(loadOnnxModel(file), OnnxModelError)).toMatch(new RegExp(`^${file.replace(/[.]/g, '\\.')}: not an ONNX model \\(`));
    }
  });

  it('a valid ONNX model from elsewhere is "not an attend export"', async () => {
    const g = new GraphBuilder('foreign');
    const a = g.input('a', 'float32', ['n']);
    g.output('y', g.add(a, g.floats([1])), 'float32', ['n']);
    const bytes = encodeModel(g.toModel({ producerName: 'pytorch', producerVersion: '2.5' }));
    const file = join(dir, 'foreign.onnx');
    await writeFile(file, bytes);
    expect(await failure(loadOnnxModel(file), OnnxModelError)).toBe(`${file}: an ONNX model, but not an attend export (no 'attend.config' metadata; producer 'pytorch')`);
  });
});

describe('export from checkpoint files', () => {
  it('names a missing file of the checkpoint folder', async () => {
    const ckpt = join(dir, 'ckpt');
    await rm(ckpt, { recursive: true, force: true });
    await import('node:fs/promises').then((fs) => fs.mkdir(ckpt));
    await writeFile(join(ckpt, 'config.json'), lmFiles['config.json']!);
    expect(await failure(exportCheckpoint(ckpt), CheckpointError)).toBe(`${join(ckpt, 'model.safetensors')}: missing (is ${ckpt} a checkpoint folder?)`);
    await writeFile(join(ckpt, 'model.safetensors'), lmFiles['model.safetensors']!);
    expect((await exportCheckpoint(ckpt)).length).toBe(lmBytes.length);
  });

  it('rejects weights of another model config, naming the tensor', () => {
    const other = makeModel({ preset: 'decoder-lm', attention: 'general' }, 2);
    const files = { ...checkpointFiles(other), 'config.json': lmFiles['config.json']! };
    other.dispose();
    expect(() => exportCheckpointFiles(files)).toThrow(/model\.safetensors: unexpected tensors 'decoder\.layers\.0\.self_attn\.score\.weight'/);
    const wider = makeModel({ preset: 'decoder-lm', dFf: 32 }, 3);
    const files2 = { ...checkpointFiles(wider), 'config.json': lmFiles['config.json']! };
    wider.dispose();
    expect(() => exportCheckpointFiles(files2)).toThrow(CheckpointError);
    expect(() => exportCheckpointFiles(files2)).toThrow(/tensor 'decoder\.layers\.\d+\.fc1\.weight' has shape \[32,8\], but config\.json implies \[16,8\]/);
  });
});

describe('input checks before ONNX Runtime', () => {
  it('rejects out-of-vocabulary ids, too-long inputs, bad masks and missing decoder inputs', async () => {
    const lm = await createOnnxModel(lmBytes);
    const ids = (data: number[], batchSize = 1) => ({ data, batchSize, seqLen: data.length / batchSize });
    await expect(forwardOf(lm).run({ inputIds: ids([1, VOCAB]) })).rejects.toThrow(new ShapeError(`input_ids[0, 1] is ${VOCAB}; expected a token id in [0, ${VOCAB})`));
    await expect(forwardOf(lm).run({ inputIds: ids([1, -1]) })).rejects.toThrow(/input_ids\[0, 1\] is -1/);
    await expect(forwardOf(lm).run({ inputIds: ids(Array(MAX_LEN + 1).fill(1)) })).rejects.toThrow(`input_ids: sequence length ${MAX_LEN + 1} exceeds maxSeqLen ${MAX_LEN}`);
    await expect(forwardOf(lm).run({ inputIds: ids([1, 2]), attentionMask: ids([1, 1, 0]) })).rejects.toThrow('attention_mask is [1, 3] but input_ids is [1, 2]');
    await expect(forwardOf(lm).run({ inputIds: ids([1, 2]), attentionMask: ids([1, 2]) })).rejects.toThrow('attention_mask[0, 1] is 2; expected 0 or 1');
    await expect(forwardOf(lm).run({ inputIds: { data: [1, 2, 3], batchSize: 2, seqLen: 2 } })).rejects.toThrow('input_ids: 3 values for shape [2, 2]');
    await lm.release();

    const s2s = makeModel({ preset: 'encoder-decoder' }, 4);
    const s2sModel = await createOnnxModel(exportCheckpointFiles(checkpointFiles(s2s)));
    s2s.dispose();
    await expect(forwardOf(s2sModel).run({ inputIds: ids([1, 2]) })).rejects.toThrow("preset 'encoder-decoder' needs decoderInputIds");
    await expect(forwardOf(s2sModel).run({ inputIds: ids([1, 2]), decoderInputIds: ids([1, 2, 3, 4], 2) })).rejects.toThrow('decoder_input_ids has batch size 2 but input_ids has 1');
    await s2sModel.release();
  });
});

describe('devices', () => {
  it('resolves each device for its runtime and lists the valid ones otherwise', () => {
    expect(resolveDevice('cpu', 'node')).toEqual({ device: 'cpu', runtime: 'node', executionProviders: [{ name: 'cpu' }] });
    expect(resolveDevice('cuda', 'node')).toEqual({ device: 'cuda', runtime: 'node', executionProviders: [{ name: 'cuda' }], fallback: 'cpu' });
    expect(resolveDevice('cuda', 'node', { deviceId: 2 })).toEqual({ device: 'cuda', runtime: 'node', executionProviders: [{ name: 'cuda', deviceId: 2 }], fallback: 'cpu' });
    expect(resolveDevice('webgpu', 'web')).toEqual({ device: 'webgpu', runtime: 'web', executionProviders: [{ name: 'webgpu' }], fallback: 'wasm' });
    expect(resolveDevice('wasm')).toEqual({ device: 'wasm', runtime: 'web', executionProviders: [{ name: 'wasm' }] });
    expect(() => resolveDevice('cuda', 'web')).toThrow("device 'cuda' is not available with @attend/runtime-onnx/web ('cuda' needs @attend/runtime-onnx/node); valid: wasm, webgpu");
    expect(() => resolveDevice('tpu', 'node')).toThrow("device 'tpu' is not available with @attend/runtime-onnx/node; valid: cpu, cuda");
    expect(() => resolveDevice('tpu')).toThrow(new DeviceError("device 'tpu' is not available; valid: cpu, cuda, wasm, webgpu"));
    expect(() => resolveDevice('cpu', 'node', { deviceId: 1 })).toThrow(new DeviceError("deviceId is for device 'cuda'; 'cpu' takes none"));
    expect(() => resolveDevice('cuda', 'node', { deviceId: -1 })).toThrow(new DeviceError('deviceId must be a non-negative integer, got -1'));
    expect(Object.isFrozen(DEVICES.cuda.executionProviders[0])).toBe(true);
    expect(NODE_DEVICES).toEqual(['cpu', 'cuda', 'wasm']);
  });

  it('runs on CUDA where its provider loads, else falls back to CPU saying why (or fails when fallback is off)', async () => {
    const model = await createOnnxModel(lmBytes, { device: 'cuda' });
    if (model.device === 'cuda') {
      expect(model.fallbacks).toEqual([]);
    } else {
      expect(model.device).toBe('cpu');
      expect(model.fallbacks).toHaveLength(1);
      expect(model.fallbacks[0]!.device).toBe('cuda');
      expect(model.fallbacks[0]!.reason.length).toBeGreaterThan(0);
      expect(await failure(createOnnxModel(lmBytes, { device: 'cuda', allowFallback: false }), OnnxModelError)).toMatch(/^model\.onnx: ONNX Runtime could not load the model on 'cuda': /);
    }
    await model.release();
  });
});
