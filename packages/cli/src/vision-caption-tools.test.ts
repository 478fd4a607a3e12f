// The vision-encoder-decoder (the Transformer captioner) through the tools after `attend train`,
// as caption-tools.test.ts takes the LSTM captioner: infer on the export folder (as on the
// checkpoint, CSV rows and PNG scenes alike, onnxruntime-node and -web, greedy and beam), eval on
// test digit scenes (the checkpoint's scores equal the export's), attention per generated word
// over the patch grid from both (the same words and weights; a chosen --layer and --head), bench;
// and the one-line errors.

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attend } from './test-utils/attend.js';
import { writeBarDigits } from './test-utils/bar-digits.js';

let dir = '';
let digits = '';
let run = '';
let exported = '';
const [H, W] = [12, 24];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'attend-vcaption-tools-'));
  digits = await writeBarDigits(dir);
  run = join(dir, 'ved');
  exported = join(dir, 'ved-onnx');
  // Long enough at this rate for the captions to hold words (an untrained captioner says nothing).
  const trained = await attend(['train', '--task', 'digit-scenes', '--digits-csv', digits, '--captioner', 'transformer', '--patch-size', '4', '--steps', '30', '--lr', '0.01', '--eval-every', '30', '--d-model', '16', '--heads', '2', '--layers', '2', '--batch-size', '8', '--examples', '64', '--dev-size', '8', '--canvas', `${H}x${W}`, '--scene-digits', '1-2', '--out', run]);
  expect(trained.stderr).toBe('');
  const e = await attend(['export', run, '--out', exported, '--with-attention']);
  expect(e.stderr).toBe('');
}, 300_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A scene's pixel values: bars of grey k/255 (exact in a PNG) where (i + k) % 5 === 0. */
const scene = (k: number): number[] => Array.from({ length: H * W }, (_, i) => ((i + k) % 5 === 0 ? (60 + 40 * k) / 255 : 0));
const csvRow = (values: number[]): string => values.map((v) => v.toFixed(4)).join(',');

async function writePng(file: string, values: number[]): Promise<void> {
  const png = new PNG({ width: W, height: H });
  values.forEach((v, i) => {
    const g = Math.round(v * 255);
    png.data.set([g, g, g, 255], 4 * i);
  });
  await writeFile(file, PNG.sync.write(png));
}

/** The terminal lines of `attend attention` that give each word's largest weight and where. */
const wordLines = (s: string) => s.split('\n').filter((l) => /largest α/.test(l));

describe('the vision-encoder-decoder through infer, eval, attention and bench', () => {
  it('infer: the export folder captions CSV rows as the checkpoint does, on cpu and wasm, greedy and beam; a PNG as its pixel row', async () => {
    const rows = [0, 1, 2].map((k) => csvRow(scene(k)));
    const fromCheckpoint = await attend(['infer', run, ...rows]);
    expect(fromCheckpoint.stderr).toBe('');
    const lines = fromCheckpoint.stdout.replace(/\n$/, '').split('\n');
    expect(lines).toHaveLength(3);
    expect(lines.some((l) => l.length > 0)).toBe(true);
    for (const device of ['cpu', 'wasm']) {
      const fromExport = await attend(['infer', exported, ...rows, '--device', device]);
      expect(fromExport.stderr).toBe('');
      expect(fromExport.stdout).toBe(fromCheckpoint.stdout);
    }
    const beam = await attend(['infer', exported, ...rows, '--beam', '3']);
    expect(beam.stderr).toBe('');
    expect(beam.stdout).toBe((await attend(['infer', run, ...rows, '--beam', '3'])).stdout);
    const png = join(dir, 'scene.png');
    await writePng(png, scene(1));
    const fromPng = await attend(['infer', exported, png]);
    expect(fromPng.stderr).toBe('');
    expect(fromPng.stdout).toBe(`${lines[1]}\n`);
  }, 120_000);

  it('eval: test scenes score the same from the checkpoint and the export, by digit count', async () => {
    const args = ['--digits-csv', digits, '--scenes', '24', '--scene-digits', '1-2', '--batch-size', '8', '--json'];
    const results = [];
    for (const model of [run, exported]) {
      const r = await attend(['eval', model, ...args]);
      expect(r.stderr).toBe('');
      results.push(JSON.parse(r.stdout) as { examples: number; metrics: { exactMatch: number; bleu: number; byDigits: { digits: number; scenes: number }[] } });
    }
    expect(results[1]!.metrics).toEqual(results[0]!.metrics);
    expect(results[0]!.examples).toBe(24);
    expect(results[0]!.metrics.byDigits.map((g) => g.digits)).toEqual([1, 2]);
    expect(results[0]!.metrics.byDigits.reduce((n, g) => n + g.scenes, 0)).toBe(24);
  }, 120_000);

  it('attention: each word over the patch grid, the same from the checkpoint and the export, for the last layer and a chosen --layer and --head', async () => {
    const input = csvRow(scene(2));
    const outputs: Record<string, { stdout: string; svg: string }> = {};
    for (const [label, flags] of [['mean', []], ['layer0', ['--layer', '0', '--head', '1']]] as const) {
      for (const [name, model] of [['checkpoint', run], ['export', exported]] as const) {
        const out = join(dir, `att-${label}-${name}`);
        const r = await attend(['attention', model, input, '--out', out, ...flags]);
        expect(r.stderr).toBe('');
        outputs[`${label} ${name}`] = { stdout: r.stdout, svg: await readFile(join(out, 'attention-caption.svg'), 'utf8') };
      }
      expect(wordLines(outputs[`${label} export`]!.stdout)).toEqual(wordLines(outputs[`${label} checkpoint`]!.stdout));
    }
    const mean = outputs['mean checkpoint']!;
    // 12 × 24 pixels in 4 × 4 patches: a 3 × 6 grid (the CLS state is left out).
    expect(mean.stdout).toMatch(/wrote .*attention-caption\.svg \(\d+ words over a 3×6 grid\)/);
    const output = /^output: (.*)$/m.exec(mean.stdout)![1]!;
    const words = wordLines(mean.stdout).map((l) => l.split(/\s+/)[0]!);
    expect(words.length).toBeGreaterThan(0);
    expect(words.slice(0, output === '' ? 0 : output.split(' ').length).join(' ')).toBe(output);
    for (const word of words) expect(mean.svg).toContain(`>${word.replace('<', '&lt;').replace('>', '&gt;')}</text>`);
    // Layer 0's head 1 is another map than the last layer's mean, and the figure's title says which.
    expect(wordLines(outputs['layer0 checkpoint']!.stdout)).not.toEqual(wordLines(mean.stdout));
    expect(outputs['layer0 checkpoint']!.svg).toContain('of cross-attention layer 0, head 1');
  }, 180_000);

  it.each([
    [['--layer', '2'], '--layer: 2 is out of range; the model has 2 cross-attention layers (0–1)'],
    [['--head', '2'], '--head: 2 is out of range; the model has 2 heads (0–1)'],
  ])('attention %j is a usage error naming the flag', async (flags, message) => {
    const r = await attend(['attention', exported, csvRow(scene(0)), '--out', join(dir, 'att-bad'), ...flags]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('attention: an export without attention outputs says to export it with --with-attention', async () => {
    const plain = join(dir, 'ved-plain');
    expect((await attend(['export', run, '--out', plain])).code).toBe(0);
    const r = await attend(['attention', plain, csvRow(scene(0)), '--out', join(dir, 'att-plain')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${plain}: the export has no attention outputs ('cross_attentions.0'); export it with --with-attention`);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  }, 120_000);

  it('bench: an export times the forward, the per-word step and whole captions; a checkpoint its training step', async () => {
    const r = await attend(['bench', exported, '--seconds', '0.2', '--json']);
    expect(r.stderr).toBe('');
    const json = JSON.parse(r.stdout) as { rows: { runtime: string; forwardMs: number; decodeMsPerToken: number; msPerCaption: number }[] };
    expect(json.rows.map((row) => row.runtime)).toEqual(['onnxruntime-node cpu, 1 thread', 'onnxruntime-node cpu, 2 threads', 'onnxruntime-web wasm']);
    for (const row of json.rows) for (const x of [row.forwardMs, row.decodeMsPerToken, row.msPerCaption]) expect(x).toBeGreaterThan(0);
    const checkpoint = await attend(['bench', run, '--seconds', '0.2', '--train-steps', '1', '--batch-size', '4']);
    expect(checkpoint.stderr).toBe('');
    expect(checkpoint.stdout).toMatch(/forward, 1 × 3 tokens/);
  }, 120_000);
});
