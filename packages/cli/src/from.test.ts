// attend train --from: a new run that starts from a checkpoint's model, weights and tokenizer
// (fine-tuning), with a fresh optimizer, into its own --out; flags that would change the model,
// data of another task, --resume and an --out around the checkpoint are refused.
// With --lora-rank only the adapters train: the checkpoint's weights come out bitwise unchanged,
// config.json says which adapters the checkpoint holds, --resume goes on, infer reads base +
// adapters, and the export (adapters merged) answers the same.

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attend, checkpointWeights } from './test-utils/attend.js';

const TINY = ['--eval-every', '4', '--d-model', '16', '--heads', '2', '--layers', '1', '--batch-size', '8', '--examples', '100', '--dev-size', '10'];
const DATA = ['--eval-every', '4', '--batch-size', '8', '--examples', '100', '--dev-size', '10'];
let dir: string;
let source: string;


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
    const before = await checkpointWeights(source);
    const after = await checkpointWeights(out);
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

const json = async (path: string): Promise<Record<string, unknown>> => JSON.parse(await readFile(path, 'utf8'));

describe('attend train --from --lora-rank', () => {
  it('trains only the adapters, resumes, and infer and the merged export agree', async () => {
    const out = join(dir, 'lora');
    const r = await attend(['train', '--from', source, '--task', 'copy', ...DATA, '--steps', '6', '--lr', '1e-2', '--lora-rank', '2', '--lora-targets', 'q,v,fc1', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/lora {6}rank 2, alpha 2, targets q,v,fc1: [\d,]+ parameters train \([\d.]+%\), the rest are frozen/);
    expect((await json(join(out, 'config.json'))).lora).toEqual({ rank: 2, alpha: 2, targets: ['q', 'v', 'fc1'], base: source });
    const before = await checkpointWeights(source);
    const check = async (): Promise<void> => {
      const after = await checkpointWeights(out);
      for (const [name, w] of Object.entries(before)) expect(after[name], name).toEqual(w);
      const adapters = Object.keys(after).filter((n) => n.includes('.lora_'));
      // q, v, fc1 of the encoder layer; q, v of the decoder's self- and cross-attention and its fc1: 8 modules, A and B each.
      expect(adapters).toHaveLength(2 * 8);
      expect(adapters.filter((n) => n.endsWith('lora_B.weight')).every((n) => after[n]!.some((x) => x !== 0))).toBe(true);
    };
    await check();

    const resumed = await attend(['train', '--task', 'copy', ...DATA, '--steps', '10', '--lr', '1e-2', '--resume', '--out', out]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/^resuming from step 6:/);
    expect((await json(join(out, 'trainer_state.json'))).step).toBe(10);
    await check();

    const onnx = join(dir, 'lora-onnx');
    const exported = await attend(['export', out, '--out', onnx]);
    expect(exported.code, exported.stderr).toBe(0);
    expect((await json(join(onnx, 'config.json'))).attend).not.toHaveProperty('lora');
    const fromCheckpoint = await attend(['infer', out, 'abcde', 'edcba']);
    const fromExport = await attend(['infer', onnx, 'abcde', 'edcba']);
    expect(fromCheckpoint.code, fromCheckpoint.stderr).toBe(0);
    expect(fromExport.stdout).toBe(fromCheckpoint.stdout);
  }, 300_000);

  it('refuses, in one line, unknown targets (naming the valid ones), LoRA flags without --from or a rank, and adapters on adapters', async () => {
    const refused = async (args: string[], message: RegExp) => {
      const r = await attend(['train', ...args]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    };
    await refused(['--from', source, '--task', 'copy', '--lora-rank', '2', '--lora-targets', 'q,query', '--out', join(dir, 'a')], /^attend: --lora-targets: 'query' is not a LoRA target of encoder-decoder; valid: q, k, v, o, fc1, fc2\n$/);
    await refused(['--task', 'copy', '--lora-rank', '2', '--out', join(dir, 'b')], /^attend: --lora-rank needs --from CKPT/);
    await refused(['--from', source, '--task', 'copy', '--lora-alpha', '4', '--out', join(dir, 'c')], /^attend: --lora-alpha needs --lora-rank/);
    await refused(['--from', join(dir, 'lora'), '--task', 'copy', '--lora-rank', '2', '--out', join(dir, 'd')], /^attend: --lora-rank: the checkpoint in .* has LoRA adapters already/);
    const adapterOnly = await attend(['export', join(dir, 'lora'), '--adapter-only', '--out', join(dir, 'peft')]);
    expect(adapterOnly.code).toBe(2);
    expect(adapterOnly.stderr).toMatch(/^attend: --adapter-only: .*lora: preset: encoder-decoder \(Hugging Face marian\) has no PEFT layout in attend; adapters are written for gpt2, bert \(decoder-lm, encoder-classifier\)\n$/);
  }, 120_000);
});
