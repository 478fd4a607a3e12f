// The image-captioner through the tools after `attend train`: infer on the export folder (as on
// the checkpoint, CSV rows and PNG scenes alike, onnxruntime-node and -web), eval on test digit
// scenes (the checkpoint's scores equal the export's; by digit count), attention per generated
// word from both (the same words and weights; the SVG's panels), bench's ms per caption; and
// the one-line errors.

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
  dir = await mkdtemp(join(tmpdir(), 'attend-caption-tools-'));
  digits = await writeBarDigits(dir);
  run = join(dir, 'soft');
  exported = join(dir, 'soft-onnx');
  // Long enough at this rate for the captions to hold words (an untrained captioner says nothing).
  const trained = await attend(['train', '--task', 'digit-scenes', '--digits-csv', digits, '--captioner', 'soft', '--steps', '30', '--lr', '0.02', '--eval-every', '30', '--d-model', '16', '--batch-size', '8', '--examples', '64', '--dev-size', '8', '--canvas', `${H}x${W}`, '--scene-digits', '1-2', '--out', run]);
  expect(trained.stderr).toBe('');
  const e = await attend(['export', run, '--out', exported]);
  expect(e.stderr).toBe('');
}, 240_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A scene's pixel values: bars of grey k/255 (exact in a PNG) where (i + k) % 5 === 0. */
const scene = (k: number): number[] => Array.from({ length: H * W }, (_, i) => ((i + k) % 5 === 0 ? (60 + 40 * k) / 255 : 0));
const csvRow = (values: number[]): string => values.map((v) => v.toFixed(4)).join(',');

async function writePng(file: string, values: number[], width = W, height = H): Promise<void> {
  const png = new PNG({ width, height });
  values.forEach((v, i) => {
    const g = Math.round(v * 255);
    png.data.set([g, g, g, 255], 4 * i);
  });
  await writeFile(file, PNG.sync.write(png));
}

describe('the image-captioner through infer, eval, attention and bench', () => {
  it('infer: the export folder captions CSV rows as the checkpoint does, on cpu and wasm; a PNG as its pixel row', async () => {
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
    expect(beam.stdout).toBe((await attend(['infer', run, ...rows, '--beam', '3'])).stdout);
    const png = join(dir, 'scene.png');
    await writePng(png, scene(1));
    for (const model of [run, exported]) {
      const fromPng = await attend(['infer', model, png]);
      expect(fromPng.stderr).toBe('');
      expect(fromPng.stdout).toBe(`${lines[1]}\n`);
    }
  }, 120_000);

  it('infer: a PNG of another size is refused before decoding, naming the file and both sizes', async () => {
    const png = join(dir, 'small.png');
    await writePng(png, new Array<number>(8 * 8).fill(0), 8, 8);
    const r = await attend(['infer', exported, png]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${png}: 8×8 pixels; the model takes ${W}×${H} images`);
  });

  it('eval: test scenes score the same from the checkpoint and the export, by digit count', async () => {
    const args = ['--digits-csv', digits, '--scenes', '40', '--scene-digits', '1-2', '--batch-size', '16', '--json'];
    const results = [];
    for (const model of [run, exported]) {
      const r = await attend(['eval', model, ...args]);
      expect(r.stderr).toBe('');
      results.push(JSON.parse(r.stdout) as { examples: number; strategy: string; metrics: { exactMatch: number; bleu: number; byDigits: { digits: number; scenes: number; exactMatch: number }[] } });
    }
    const [checkpoint, exportFolder] = results;
    expect(exportFolder!.metrics).toEqual(checkpoint!.metrics);
    expect(checkpoint!.examples).toBe(40);
    expect(checkpoint!.strategy).toBe('greedy');
    const groups = checkpoint!.metrics.byDigits;
    expect(groups.map((g) => g.digits)).toEqual([1, 2]);
    expect(groups.reduce((n, g) => n + g.scenes, 0)).toBe(40);
    // Overall exact matches are the groups' matches summed.
    expect(groups.reduce((n, g) => n + g.exactMatch * g.scenes, 0)).toBeCloseTo(checkpoint!.metrics.exactMatch * 40, 6);
    const text = await attend(['eval', exported, '--digits-csv', digits, '--scenes', '10', '--scene-digits', '2']);
    expect(text.stdout).toMatch(/^exact match +\d+\.\d\d% +\(\d+\/10; greedy captions of test scenes/m);
    expect(text.stdout).toMatch(/^2 digits +\d+\.\d\d% +exact match of 10 scenes; BLEU \d+\.\d\d$/m);
  }, 120_000);

  it.each([
    [['--images', 'DIGITS'], '--images: ', 'evaluate it with --digits-csv FILE'],
    [['--digits-csv', 'DIGITS', '--scenes', '200000'], '--scenes: 200000 is over the limit of 100,000 scenes', ''],
    [['--digits-csv', 'DIGITS', '--scene-digits', '4'], '--scene-digits: 4 digits of 8 px do not fit side by side in a canvas 24 wide', ''],
  ])('eval %j is a usage error naming the flag', async (flags, message, more) => {
    const r = await attend(['eval', exported, ...flags.map((f) => (f === 'DIGITS' ? digits : f))]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.stderr).toContain(more);
  });

  it('attention: each generated word with its α over the scene, the same from the checkpoint and the export', async () => {
    const input = csvRow(scene(2));
    const outs = [];
    for (const [model, out] of [[run, join(dir, 'att-ckpt')], [exported, join(dir, 'att-onnx')]] as const) {
      const r = await attend(['attention', model, input, '--out', out]);
      expect(r.stderr).toBe('');
      outs.push({ stdout: r.stdout, svg: await readFile(join(out, 'attention-caption.svg'), 'utf8') });
    }
    // The terminal lines (words, largest α and where) agree to the printed digits.
    const wordLines = (s: string) => s.split('\n').filter((l) => /largest α/.test(l));
    expect(wordLines(outs[1]!.stdout)).toEqual(wordLines(outs[0]!.stdout));
    const output = /^output: (.*)$/m.exec(outs[0]!.stdout)![1]!;
    const words = wordLines(outs[0]!.stdout).map((l) => l.split(/\s+/)[0]!);
    // One panel per produced word: the caption's words, then </s> when it ended with eos.
    expect(words.slice(0, output === '' ? 0 : output.split(' ').length).join(' ')).toBe(output);
    for (const word of words) expect(outs[0]!.svg).toContain(`>${word.replace('<', '&lt;').replace('>', '&gt;')}</text>`);
    expect(outs[0]!.svg).toContain('weight at a pixel');
    expect(outs[0]!.stdout).toMatch(/wrote .*attention-caption\.svg \(\d+ words over a 2×5 grid\)/);
  }, 120_000);

  it('attention: a captioner without attention says so in one line', async () => {
    const none = join(dir, 'none');
    const t = await attend(['train', '--task', 'digit-scenes', '--digits-csv', digits, '--captioner', 'none', '--steps', '2', '--eval-every', '2', '--d-model', '8', '--batch-size', '4', '--examples', '16', '--dev-size', '4', '--canvas', `${H}x${W}`, '--scene-digits', '1-2', '--out', none]);
    expect(t.code).toBe(0);
    const r = await attend(['attention', none, csvRow(scene(0)), '--out', join(dir, 'att-none')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("this image-captioner has no attention (visualAttention 'none'");
  }, 120_000);

  it('bench: an export times the forward, the per-word step and whole captions', async () => {
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
