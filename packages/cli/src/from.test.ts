// attend train --from: a new run that starts from a checkpoint's model, weights and tokenizer
// (fine-tuning), with a fresh optimizer, into its own --out; flags that would change the model,
// data of another task, --resume and an --out around the checkpoint are refused.

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSafetensors, toFloat32 } from '@attend/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attend } from './test-utils/attend.js';

const TINY = ['--eval-every', '4', '--d-model', '16', '--heads', '2', '--layers', '1', '--batch-size', '8', '--examples', '100', '--dev-size', '10'];
let dir: string;
let source: string;

const weightsOf = async (ckpt: string): Promise<Record<string, Float32Array>> => {
  const file = parseSafetensors(new Uint8Array(await readFile(join(ckpt, 'model.safetensors'))));
  return Object.fromEntries(Object.entries(file.tensors).map(([name, t]) => [name, toFloat32(t, name)]));
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'attend-from-'));
  source = join(dir, 'reverse');
  const r = await attend(['train', '--task', 'reverse', ...TINY, '--steps', '8', '--out', source]);
  expect(r.code, r.stderr).toBe(0);
}, 120_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('attend train --from', () => {
  it("starts from the checkpoint's weights and config, with its tokenizer, on another task", async () => {
    const out = join(dir, 'copy');
    // A learning rate too small to move a weight: what comes out is what went in.
    const r = await attend(['train', '--from', source, '--task', 'copy', ...TINY, '--steps', '1', '--lr', '1e-12', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^training encoder-decoder on /);
    expect(JSON.parse(await readFile(join(out, 'config.json'), 'utf8'))).toEqual(JSON.parse(await readFile(join(source, 'config.json'), 'utf8')));
    expect(await readFile(join(out, 'tokenizer.json'), 'utf8')).toBe(await readFile(join(source, 'tokenizer.json'), 'utf8'));
    const before = await weightsOf(source);
    const after = await weightsOf(out);
    expect(Object.keys(after).sort()).toEqual(Object.keys(before).sort());
    let diff = 0;
    for (const [name, w] of Object.entries(before)) for (let i = 0; i < w.length; i++) diff = Math.max(diff, Math.abs(w[i]! - after[name]![i]!));
    expect(diff).toBeLessThan(1e-6);
    // The fresh run counts its own steps: step 1, not the source's 8.
    expect(JSON.parse(await readFile(join(out, 'trainer_state.json'), 'utf8')).step).toBe(1);
  }, 120_000);

  it('refuses --resume with it, a model flag that differs, data of another task, and an --out inside it', async () => {
    const refused = async (args: string[], message: RegExp) => {
      const r = await attend(['train', '--from', source, ...args]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    };
    await refused(['--task', 'copy', '--resume', '--out', join(dir, 'a')], /^attend: --from starts a new run from a checkpoint and --resume continues the one in --out; give one of them\n$/);
    await refused(['--task', 'copy', '--d-model', '32', '--out', join(dir, 'b')], /^attend: --d-model: 32 differs from the checkpoint's 16 in .*reverse; a --from run keeps the checkpoint's model \(drop the flag\)\n$/);
    const text = join(dir, 'text.txt');
    await writeFile(text, 'some text to model, long enough for a window or two of characters. '.repeat(20));
    await refused(['--text', text, '--out', join(dir, 'c')], /^attend: .*reverse: an encoder-decoder model; the training data given is for a decoder-lm\n$/);
    await refused(['--task', 'copy', '--out', join(source, 'inside')], /--out .*inside/);
  }, 120_000);
});
