// Guards of the commands' inputs and outputs, through the built CLI (dist/bin.js): a cap on
// --beam, an export whose parity is not a number is a failure, and a reader that closes the
// pipe early (`| head`) ends the command quietly.

import { spawn } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { f32Tensor, parseSafetensors, serializeSafetensors, toFloat32 } from '@attend/core';
import { tinyExport } from './test-utils/tiny-export.js';

const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI; with `closeAfterFirstChunk`, stdout is closed after its first data, as `| head -c1` does. */
function attend(args: string[], options: { closeAfterFirstChunk?: boolean } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (options.closeAfterFirstChunk) child.stdout.destroy();
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

let dir: string;
let lm: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'attend-guards-'));
  lm = await tinyExport(dir, 'decoder-lm', 7);
}, 120_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('command guards', () => {
  it('--beam above the cap is a usage error naming the flag and the cap, before any model is loaded', async () => {
    const r = await attend(['infer', lm, '--beam', '1000000', 'abc']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('attend: --beam: 1000000 beams is over the limit of 16\n');
    expect((await attend(['infer', lm, '--beam', '16', 'abc'])).code).toBe(0);
  });

  it('a checkpoint with NaN weights: export fails (exit 1) naming the checkpoint and the non-finite parity', async () => {
    const ckpt = join(dir, 'nan-ckpt');
    await cp(join(dir, 'decoder-lm-ckpt'), ckpt, { recursive: true });
    const { tensors } = parseSafetensors(new Uint8Array(await readFile(join(ckpt, 'model.safetensors'))));
    const name = Object.keys(tensors).find((n) => n.endsWith('fc1.weight'))!;
    const values = toFloat32(tensors[name]!, name);
    values[0] = Number.NaN;
    tensors[name] = f32Tensor(tensors[name]!.shape, values);
    await writeFile(join(ckpt, 'model.safetensors'), serializeSafetensors(tensors));
    const r = await attend(['export', ckpt, '--out', join(dir, 'nan-onnx')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^attend: .*nan-ckpt: the checkpoint or its export computes non-finite logits \(parity NaN\)/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  }, 60_000);

  it('a reader that closes the pipe early: exit 0 and no EPIPE stack', async () => {
    const inputs = Array.from({ length: 200 }, (_, i) => 'abcde'.slice(0, 1 + (i % 5)));
    const r = await attend(['generate', lm, ...inputs, '--max-tokens', '4'], { closeAfterFirstChunk: true });
    expect(r.stderr).not.toMatch(/EPIPE|Error|at /);
    expect(r.code).toBe(0);
  }, 60_000);
});
