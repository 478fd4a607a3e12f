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

  /** A copy of the decoder-lm checkpoint whose first fc1 weight is `edit`ed. */
  async function editedCheckpoint(name: string, edit: (values: Float32Array) => void): Promise<{ ckpt: string; tensor: string }> {
    const ckpt = join(dir, name);
    await cp(join(dir, 'decoder-lm-ckpt'), ckpt, { recursive: true });
    const { tensors } = parseSafetensors(new Uint8Array(await readFile(join(ckpt, 'model.safetensors'))));
    const tensor = Object.keys(tensors).find((n) => n.endsWith('fc1.weight'))!;
    const values = toFloat32(tensors[tensor]!, tensor);
    edit(values);
    tensors[tensor] = f32Tensor(tensors[tensor]!.shape, values);
    await writeFile(join(ckpt, 'model.safetensors'), serializeSafetensors(tensors));
    return { ckpt, tensor };
  }

  it('a checkpoint with NaN weights: export and generate fail at load (exit 1) naming the file and the tensor', async () => {
    const { ckpt, tensor } = await editedCheckpoint('nan-ckpt', (values) => (values[0] = Number.NaN));
    for (const args of [['export', ckpt, '--out', join(dir, 'nan-onnx')], ['generate', ckpt, 'ab', '--max-tokens', '2']]) {
      const r = await attend(args);
      expect(r.code, args[0]).toBe(1);
      expect(r.stderr).toBe(`attend: ${join(ckpt, 'model.safetensors')}: tensor '${tensor}' holds NaN at index 0; weights must be finite\n`);
    }
  }, 60_000);

  it('a config.json claiming a 20 M-token vocabulary or dFf 3e7: generate and infer fail at load in one line, before building the model', async () => {
    for (const [field, value, tensor] of [['vocabSize', 20_000_000, 'embed_tokens.weight'], ['dFf', 30_000_000, 'decoder.layers.0.fc1.weight']] as const) {
      const ckpt = join(dir, `huge-${field}`);
      await cp(join(dir, 'decoder-lm-ckpt'), ckpt, { recursive: true });
      const config = JSON.parse(await readFile(join(ckpt, 'config.json'), 'utf8')) as Record<string, unknown>;
      await writeFile(join(ckpt, 'config.json'), JSON.stringify({ ...config, [field]: value }));
      for (const command of ['generate', 'infer']) {
        const r = await attend([command, ckpt, 'ab']);
        expect(r.code, `${command} ${field}`).toBe(1);
        expect(r.stderr).toMatch(new RegExp(`^attend: ${join(ckpt, 'model\\.safetensors')}: tensor '${tensor.replaceAll('.', '\\.')}' has shape \\[\\d+,\\d+\\], but config\\.json implies \\[${value},\\d+\\]\\n$`));
      }
    }
  }, 60_000);

  it('finite weights that overflow: export fails (exit 1) naming the checkpoint and the non-finite parity', async () => {
    const { ckpt } = await editedCheckpoint('overflow-ckpt', (values) => values.fill(3e38));
    const r = await attend(['export', ckpt, '--out', join(dir, 'overflow-onnx')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^attend: .*overflow-ckpt: the checkpoint or its export computes non-finite logits \(parity NaN\)/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  }, 60_000);

  it('a reader that closes the pipe early: exit 0 and no EPIPE stack', async () => {
    const inputs = Array.from({ length: 200 }, (_, i) => 'abcde'.slice(0, 1 + (i % 5)));
    const r = await attend(['generate', lm, ...inputs, '--max-tokens', '4'], { closeAfterFirstChunk: true });
    expect(r.stderr).not.toMatch(/EPIPE|Error|at /);
    expect(r.code).toBe(0);
  }, 60_000);
});
