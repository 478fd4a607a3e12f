// The vision-encoder-decoder (the Transformer captioner) through the tools after `attend train`,
// as caption-tools.test.ts takes the LSTM captioner: infer on the export folder (as on the
// checkpoint, CSV rows and PNG scenes alike, onnxruntime-node and -web, greedy and beam), eval on
// test digit scenes (the checkpoint's scores equal the export's), attention per generated word
// over the patch grid from both (the same words and weights; a chosen --layer and --head), bench;
// and the one-line errors.

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attend } from './test-utils/attend.js';
import { writeBarDigits } from './test-utils/bar-digits.js';
import { checkBench, checkEvalAgrees, checkInferAgrees, csvRow, SCENE_H as H, SCENE_W as W, scene, wordLines } from './test-utils/caption-scenes.js';

let dir = '';
let digits = '';
let run = '';
let exported = '';

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

describe('the vision-encoder-decoder through infer, eval, attention and bench', () => {
  it('infer: the export folder captions CSV rows as the checkpoint does, on cpu and wasm, greedy and beam; a PNG as its pixel row', async () => {
    await checkInferAgrees(run, exported, dir);
  }, 120_000);

  it('eval: test scenes score the same from the checkpoint and the export, by digit count', async () => {
    await checkEvalAgrees(run, exported, digits, 24);
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
    await checkBench(run, exported);
  }, 120_000);
});
