// `attend export --target triton` through the built CLI: a Triton model repository
// (<name>/config.pbtxt + <name>/1/model.onnx) for a decoder-lm and for an encoder–decoder, and
// nothing written when the checkpoint is bad. The config's content is tested in
// @attend/runtime-onnx (triton.test.ts).

import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tinyExport } from './test-utils/tiny-export.js';

const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
let dir: string;

beforeAll(async () => {
  await stat(BIN);
  dir = await mkdtemp(join(tmpdir(), 'attend-triton-'));
  await tinyExport(dir, 'decoder-lm', 7);
  await tinyExport(dir, 'encoder-decoder', 8);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const attend = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });

describe('attend export --target triton', () => {
  it('writes <name>/config.pbtxt and <name>/1/model.onnx for a decoder-lm, with int8 weights on request', async () => {
    const repo = join(dir, 'model_repository');
    const r = attend(['export', join(dir, 'decoder-lm-ckpt'), '--out', repo, '--target', 'triton', '--quantize', 'int8']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('(Triton model repository) (int8 weights)');
    expect((await readdir(repo)).sort()).toEqual(['decoder-lm-ckpt']);
    expect((await readdir(join(repo, 'decoder-lm-ckpt'))).sort()).toEqual(['1', 'config.json', 'config.pbtxt', 'tokenizer.json']);
    const config = await readFile(join(repo, 'decoder-lm-ckpt', 'config.pbtxt'), 'utf8');
    expect(config).toMatch(/^name: "decoder-lm-ckpt"\nplatform: "onnxruntime_onnx"\nmax_batch_size: 32\n/);
    expect(config).toContain('dynamic_batching {');
    const plain = join(dir, 'plain-onnx');
    expect(attend(['export', join(dir, 'decoder-lm-ckpt'), '--out', plain]).status).toBe(0);
    // the repository holds the quantized graph, not the plain one
    expect((await readFile(join(repo, 'decoder-lm-ckpt', '1', 'model.onnx'))).equals(await readFile(join(plain, 'onnx', 'model.onnx')))).toBe(false);
  });

  it('writes an encoder and a decoder model for an encoder–decoder', async () => {
    const repo = join(dir, 'repo-mt');
    const r = attend(['export', join(dir, 'encoder-decoder-ckpt'), '--out', repo, '--target', 'triton']);
    expect(r.status).toBe(0);
    expect((await readdir(repo)).sort()).toEqual(['encoder-decoder-ckpt-decoder', 'encoder-decoder-ckpt-encoder']);
    expect(await readFile(join(repo, 'encoder-decoder-ckpt-decoder', 'config.pbtxt'), 'utf8')).toContain('max_batch_size: 0\n');
  });

  it('leaves nothing behind when the checkpoint is corrupt, and rejects an unknown target', async () => {
    const bad = join(dir, 'decoder-lm-ckpt');
    const weights = await readFile(join(bad, 'model.safetensors'));
    await writeFile(join(bad, 'model.safetensors'), weights.subarray(0, 50));
    const repo = join(dir, 'repo-bad');
    const r = attend(['export', bad, '--out', repo, '--target', 'triton']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^attend: .*model\.safetensors: [^\n]*\n$/);
    await expect(stat(repo)).rejects.toThrow();
    const wrong = attend(['export', bad, '--out', repo, '--target', 'tensorrt']);
    expect(wrong.status).not.toBe(0);
    expect(wrong.stderr).toMatch(/^attend: option '--target <target>' argument 'tensorrt' is invalid/);
  });
});
