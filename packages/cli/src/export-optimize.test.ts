// `attend export --optimize` and the integer --quantize schemes through the built CLI: the
// fused folder keeps the checkpoint's logits (parity ≤ 1e-4) and generates the same text as the
// standard folder; --quantize int8-dynamic / int4 write com.microsoft integer MatMuls;
// --optimize with --with-attention is a usage error (exit 2) that writes nothing.

import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tinyExport } from './test-utils/tiny-export.js';

const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
let dir: string;

beforeAll(async () => {
  await stat(BIN);
  dir = await mkdtemp(join(tmpdir(), 'attend-optimize-'));
  await tinyExport(dir, 'decoder-lm', 5);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const attend = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });

/** The parity figure `attend export` prints. */
function parity(stdout: string): number {
  const m = /max \|tfjs − onnxruntime-node\| logit = (\S+)/.exec(stdout);
  expect(m, stdout).not.toBeNull();
  return Number(m![1]);
}

describe('attend export --optimize', () => {
  it('writes fused operators, keeps parity and generates what the standard folder generates', async () => {
    const ckpt = join(dir, 'decoder-lm-ckpt');
    const out = join(dir, 'fused');
    const r = attend(['export', ckpt, '--out', out, '--optimize']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('(fused operators)');
    expect(parity(r.stdout)).toBeLessThanOrEqual(1e-4);
    const graph = (await readFile(join(out, 'onnx', 'model.onnx'))).toString('latin1');
    for (const op of ['MultiHeadAttention', 'BiasGelu', 'com.microsoft']) expect(graph).toContain(op);
    const generate = (folder: string) => attend(['generate', folder, 'the cat', 'a dog', '--max-new-tokens', '12']);
    const fused = generate(out);
    const standard = generate(join(dir, 'decoder-lm'));
    expect(fused.status, fused.stderr).toBe(0);
    expect(fused.stdout.trim()).not.toBe('');
    expect(fused.stdout).toBe(standard.stdout);
  });

  for (const scheme of ['int8-dynamic', 'int4']) {
    it(`--quantize ${scheme} writes integer MatMuls (with or without --optimize)`, async () => {
      const out = join(dir, scheme);
      const r = attend(['export', join(dir, 'decoder-lm-ckpt'), '--out', out, '--quantize', scheme, ...(scheme === 'int4' ? ['--optimize'] : [])]);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout).toContain(`(${scheme} weights)`);
      expect(Number.isFinite(parity(r.stdout))).toBe(true);
      expect((await readFile(join(out, 'onnx', 'model.onnx'))).toString('latin1')).toContain(scheme === 'int4' ? 'MatMulNBits' : 'DynamicQuantizeMatMul');
    });
  }

  it('refuses --optimize with --with-attention (exit 2, one line, nothing written)', async () => {
    const out = join(dir, 'both');
    const r = attend(['export', join(dir, 'decoder-lm-ckpt'), '--out', out, '--optimize', '--with-attention']);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('--optimize');
    await expect(stat(out)).rejects.toThrow();
  });
});
