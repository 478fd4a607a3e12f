// `--hard-inference argmax|expectation` on a hard-attention image-captioner after `attend train`:
// infer, eval and attention give the same results from the checkpoint (tfjs) and the export
// folder (onnxruntime-node and -web) for each reading, and the two readings are not the same
// model (their attention and eval's teacher-forced test loss differ); a model without hard
// attention refuses the flag in one line.

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attend } from './test-utils/attend.js';
import { csvRow, expectSameEval, scene, trainLstmCaptioner, wordLines, type CaptionEvalJson } from './test-utils/caption-scenes.js';
import { tinyExport } from './test-utils/tiny-export.js';

let dir = '';
let digits = '';
let run = '';
let exported = '';
let exportOutput = '';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'attend-hard-inference-'));
  ({ digits, run, exported, exportOutput } = await trainLstmCaptioner(dir, 'hard'));
}, 240_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('--hard-inference on a hard-attention captioner', () => {
  it.each(['argmax', 'expectation'])('infer --hard-inference %s: the export (cpu, wasm) captions as the checkpoint does', async (reading) => {
    const rows = [0, 1, 2, 3].map((k) => csvRow(scene(k)));
    const fromCheckpoint = await attend(['infer', run, ...rows, '--hard-inference', reading]);
    expect(fromCheckpoint.stderr).toBe('');
    expect(fromCheckpoint.stdout.split('\n')).toHaveLength(5);
    for (const device of ['cpu', 'wasm']) {
      const fromExport = await attend(['infer', exported, ...rows, '--hard-inference', reading, '--device', device]);
      expect(fromExport.stderr).toBe('');
      expect(fromExport.stdout).toBe(fromCheckpoint.stdout);
    }
  }, 120_000);

  it("infer --json names the reading: the flag's, or the arg-max without it; a model without hard attention has none", async () => {
    const row = csvRow(scene(0));
    const reading = async (args: string[]) => (JSON.parse((await attend(['infer', ...args, '--json'])).stdout) as { hardInference?: string }).hardInference;
    await expect(reading([exported, row, '--hard-inference', 'expectation'])).resolves.toBe('expectation');
    await expect(reading([run, row, '--hard-inference', 'expectation'])).resolves.toBe('expectation');
    await expect(reading([exported, row])).resolves.toBe('argmax');
    await expect(reading([await tinyExport(dir, 'encoder-decoder', 1, { name: 'text-json' }), 'abc'])).resolves.toBeUndefined();
  }, 120_000);

  it('the parity check of attend export compares the export with the checkpoint for each reading, each within 1e-4', () => {
    const m = /logit = (\S+) on 3 images \(hard attention read as argmax (\S+), expectation (\S+)\)\n/.exec(exportOutput);
    expect(m, exportOutput).not.toBeNull();
    const [overall, argmax, expectation] = m!.slice(1).map(Number);
    for (const d of [argmax!, expectation!]) expect(d).toBeLessThanOrEqual(1e-4);
    expect(overall).toBe(Math.max(argmax!, expectation!));
  });

  it('eval --hard-inference: the same captions and test loss from the checkpoint and the export (cpu, wasm) for each reading, and the two readings lose differently', async () => {
    const args = ['--digits-csv', digits, '--scenes', '24', '--scene-digits', '1-2', '--batch-size', '12', '--json'];
    const losses: Record<string, number> = {};
    for (const reading of ['argmax', 'expectation']) {
      const [checkpoint, onCpu, onWasm] = await Promise.all([[run], [exported], [exported, '--device', 'wasm']].map(async (model) => {
        const r = await attend(['eval', ...model, ...args, '--hard-inference', reading]);
        expect(r.stderr).toBe('');
        return JSON.parse(r.stdout) as CaptionEvalJson;
      }));
      expect(checkpoint!.hardInference).toBe(reading);
      expect(checkpoint!.examples).toBe(24);
      expect(checkpoint!.metrics.lossScenes).toBe(24);
      losses[reading] = expectSameEval(checkpoint!, onCpu!);
      expectSameEval(checkpoint!, onWasm!);
    }
    // Exact match and BLEU are 0 for both readings after 30 steps; the loss tells them apart.
    expect(Math.abs(losses.argmax! - losses.expectation!)).toBeGreaterThan(1e-2);
  }, 120_000);

  it('attention --hard-inference expectation: the same words and α from both, α unlike the arg-max reading, no location outlined', async () => {
    const input = csvRow(scene(2));
    const lines: Record<string, string[]> = {};
    for (const reading of ['argmax', 'expectation']) {
      for (const model of [run, exported]) {
        const out = join(dir, `att-${reading}-${model === run ? 'ckpt' : 'onnx'}`);
        const r = await attend(['attention', model, input, '--out', out, '--hard-inference', reading]);
        expect(r.stderr).toBe('');
        if (model === run) lines[reading] = wordLines(r.stdout);
        else expect(wordLines(r.stdout)).toEqual(lines[reading]);
        const svg = await readFile(join(out, 'attention-caption.svg'), 'utf8');
        expect(svg).toContain(reading === 'argmax' ? 'the location taken outlined' : 'read as the expectation');
      }
    }
    expect(lines.argmax!.length).toBeGreaterThan(1);
    // The first word's α comes from the initial state alone; the later ones follow what each reading fed the LSTM.
    expect(lines.expectation).not.toEqual(lines.argmax);
  }, 120_000);

  it('a model without hard attention refuses the flag in one line (exit 2), checkpoint and export', async () => {
    const textExport = await tinyExport(dir, 'encoder-decoder');
    for (const args of [
      ['infer', textExport, 'abc'],
      ['infer', `${textExport}-ckpt`, 'abc'],
      ['attention', textExport, 'abc', '--out', join(dir, 'att-text')],
      ['eval', `${textExport}-ckpt`, '--digits-csv', digits],
    ]) {
      const r = await attend([...args, '--hard-inference', 'expectation']);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toBe('attend: --hard-inference: expectation needs an image-captioner with hard attention; this model is a encoder-decoder\n');
    }
    const bad = await attend(['infer', exported, csvRow(scene(0)), '--hard-inference', 'mean']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--hard-inference <reading>' argument 'mean' is invalid\. Allowed choices are argmax, expectation/);
  }, 120_000);
});
