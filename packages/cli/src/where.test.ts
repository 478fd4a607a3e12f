// The where-to-look kinds through the built CLI: a tiny stn-classifier trained on
// --task cluttered-digits, exported with its θ outputs, run on a PNG and a CSV row, evaluated,
// and its sampling grid drawn by `attend attention`; the task's usage errors (exit 2). Needs
// ../shared/data/digits8x8.csv; skipped without it.

import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clutteredDigits, readCsvClassification } from '@attend/core';
import { attend } from './test-utils/attend.js';

const DIGITS = fileURLToPath(new URL('../../../../shared/data/digits8x8.csv', import.meta.url));
const TINY = ['--d-model', '16', '--batch-size', '16', '--examples', '200', '--dev-size', '20', '--canvas-size', '16', '--clutter', '2', '--seed', '3'];

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'attend-where-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe.skipIf(!existsSync(DIGITS))('stn-classifier on --task cluttered-digits', () => {
  it('trains, exports with θ, infers on a PNG and a CSV row, evaluates, and draws its sampling grid', async () => {
    const ckpt = join(dir, 'stn');
    const train = await attend(['train', '--task', 'cluttered-digits', '--images', DIGITS, '--preset', 'stn-classifier', ...TINY, '--steps', '6', '--eval-every', '3', '--out', ckpt]);
    expect(train.code, train.stderr).toBe(0);
    expect(train.stdout).toMatch(/200 images, dev 20; 1×16×16/);
    const config = JSON.parse(await readFile(join(ckpt, 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(config).toMatchObject({ preset: 'stn-classifier', imageSize: 16, numClasses: 10, pixelScale: 1, maxSeqLen: 1 });

    const onnx = join(dir, 'stn-onnx');
    const exported = await attend(['export', ckpt, '--out', onnx, '--with-attention']);
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stdout).toMatch(/parity: max \|tfjs − onnxruntime-node\| logit = .* on 3 images/);

    // One canvas as a PNG (white digit on black) and as a CSV row with its class id.
    const digits = await readCsvClassification(DIGITS);
    const [canvas] = clutteredDigits(digits, { count: 1, seed: 9, size: 16, clutter: 2 });
    const png = new PNG({ width: 16, height: 16 });
    canvas!.pixels.forEach((v, i) => png.data.set([Math.round(255 * v), Math.round(255 * v), Math.round(255 * v), 255], 4 * i));
    const pngPath = join(dir, 'digit.png');
    await writeFile(pngPath, PNG.sync.write(png));
    const csvPath = join(dir, 'digit.csv');
    await writeFile(csvPath, `${[...Array.from(canvas!.pixels, (v) => (Math.round(255 * v) / 255).toFixed(6)), canvas!.label].join(',')}\n`);

    const fromPng = await attend(['infer', onnx, pngPath]);
    const fromCsv = await attend(['infer', ckpt, '--file', csvPath]);
    expect(fromPng.code, fromPng.stderr).toBe(0);
    expect(fromCsv.code, fromCsv.stderr).toBe(0);
    // The PNG and the CSV row are the same image: the same class and probabilities, from ONNX and tfjs.
    expect(fromPng.stdout.trim()).toMatch(/^\d\t\(0: /);
    expect(fromPng.stdout.split('\t')[0]).toBe(fromCsv.stdout.split('\t')[0]);
    expect(fromCsv.stderr).toMatch(/accuracy: (0|100)\.00% \(\d\/1 images\)/);

    const evaluated = await attend(['eval', onnx, '--images', csvPath]);
    expect(evaluated.code, evaluated.stderr).toBe(0);
    expect(evaluated.stdout).toMatch(/accuracy/);

    const figures = join(dir, 'figures');
    const drawn = await attend(['attention', onnx, pngPath, '--out', figures]);
    expect(drawn.code, drawn.stderr).toBe(0);
    expect(drawn.stdout).toMatch(/θ = \[-?\d\.\d{3}(, -?\d\.\d{3}){5}\]/);
    const svg = await readFile(join(figures, 'attention-stn.svg'), 'utf8');
    expect(svg).toMatch(/^<svg/);
    expect(svg).toMatch(/sampling grid/);
    expect(svg).toMatch(/what the classifier saw \(16×16\)/);

    // An export without --with-attention has no θ to draw: a one-line error.
    const plain = join(dir, 'stn-plain');
    expect((await attend(['export', ckpt, '--out', plain])).code).toBe(0);
    const noTheta = await attend(['attention', plain, pngPath, '--out', join(dir, 'f2')]);
    expect(noTheta.code).toBe(1);
    expect(noTheta.stderr).toMatch(/no 'theta' and 'transformed' outputs; export it with --with-attention/);
  }, 240_000);

  it('trains a CNN canvas classifier (--conv-channels) that exports at parity with Conv and MaxPool nodes; refuses blocks the canvas cannot halve', async () => {
    const ckpt = join(dir, 'cnn');
    const train = await attend(['train', '--task', 'cluttered-digits', '--images', DIGITS, '--preset', 'canvas-classifier', '--conv-channels', '4,6', ...TINY, '--steps', '3', '--out', ckpt]);
    expect(train.code, train.stderr).toBe(0);
    expect(JSON.parse(await readFile(join(ckpt, 'config.json'), 'utf8'))).toMatchObject({ preset: 'canvas-classifier', convChannels: [4, 6] });
    const onnx = join(dir, 'cnn-onnx');
    const exported = await attend(['export', ckpt, '--out', onnx]);
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stdout).toMatch(/parity: max \|tfjs − onnxruntime-node\| logit = .* on 3 images/);
    const graph = await readFile(join(onnx, 'onnx', 'model.onnx'));
    expect(graph.includes('Conv')).toBe(true);
    expect(graph.includes('MaxPool')).toBe(true);

    const tooMany = await attend(['train', '--task', 'cluttered-digits', '--images', DIGITS, '--preset', 'canvas-classifier', '--conv-channels', '2,2,2,2', '--canvas-size', '8', '--out', join(dir, 'w')]);
    expect(tooMany.code).toBe(2);
    expect(tooMany.stderr.trim().split('\n')).toHaveLength(1);
    expect(tooMany.stderr).toMatch(/--conv-channels: 4 blocks halve imageSize=8 below 2 pixels at block 4/);
    const zero = await attend(['train', '--task', 'cluttered-digits', '--images', DIGITS, '--preset', 'canvas-classifier', '--conv-channels', '8,0', '--out', join(dir, 'v')]);
    expect(zero.code).toBe(2);
    expect(zero.stderr).toMatch(/--conv-channels/);
  }, 240_000);

  it('trains an STN with a CNN localisation network (--loc-conv-channels) that exports at parity; other kinds refuse the flag', async () => {
    const ckpt = join(dir, 'stn-loc-cnn');
    const train = await attend(['train', '--task', 'cluttered-digits', '--images', DIGITS, '--preset', 'stn-classifier', '--loc-conv-channels', '4,4', ...TINY, '--steps', '3', '--out', ckpt]);
    expect(train.code, train.stderr).toBe(0);
    expect(JSON.parse(await readFile(join(ckpt, 'config.json'), 'utf8'))).toMatchObject({ preset: 'stn-classifier', locConvChannels: [4, 4], convChannels: [] });
    const exported = await attend(['export', ckpt, '--out', join(dir, 'stn-loc-cnn-onnx'), '--with-attention']);
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stdout).toMatch(/parity: max \|tfjs − onnxruntime-node\| logit = .* on 3 images/);
    expect((await readFile(join(dir, 'stn-loc-cnn-onnx', 'onnx', 'model.onnx'))).includes('localization.convs.1.weight')).toBe(true);

    const canvas = await attend(['train', '--task', 'cluttered-digits', '--images', DIGITS, '--preset', 'canvas-classifier', '--loc-conv-channels', '4', '--out', join(dir, 'u')]);
    expect(canvas.code).toBe(2);
    expect(canvas.stderr.trim().split('\n')).toHaveLength(1);
    expect(canvas.stderr).toMatch(/--loc-conv-channels/);
  }, 240_000);

  it('trains an STN with the attention transform (--stn-transform attention) that exports at parity; a bad value and other kinds are refused in one line', async () => {
    const ckpt = join(dir, 'stn-attention');
    const train = await attend(['train', '--task', 'cluttered-digits', '--images', DIGITS, '--preset', 'stn-classifier', '--stn-transform', 'attention', ...TINY, '--steps', '3', '--out', ckpt]);
    expect(train.code, train.stderr).toBe(0);
    expect(JSON.parse(await readFile(join(ckpt, 'config.json'), 'utf8'))).toMatchObject({ preset: 'stn-classifier', stnTransform: 'attention' });
    const exported = await attend(['export', ckpt, '--out', join(dir, 'stn-attention-onnx'), '--with-attention']);
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stdout).toMatch(/parity: max \|tfjs − onnxruntime-node\| logit = .* on 3 images/);
    expect((await readFile(join(dir, 'stn-attention-onnx', 'onnx', 'model.onnx'))).includes('localization.theta_matrix')).toBe(true);

    for (const args of [['--preset', 'stn-classifier', '--stn-transform', 'projective'], ['--preset', 'canvas-classifier', '--stn-transform', 'attention']]) {
      const refused = await attend(['train', '--task', 'cluttered-digits', '--images', DIGITS, ...args, '--out', join(dir, 'v')]);
      expect(refused.code).toBe(2);
      expect(refused.stderr.trim().split('\n')).toHaveLength(1);
      expect(refused.stderr).toMatch(/--stn-transform/);
    }
  }, 240_000);

  it('refuses task flags without the task, the task without its digits, and a canvas the digit does not fit', async () => {
    const noTask = await attend(['train', '--images', DIGITS, '--clutter', '3', '--preset', 'canvas-classifier', '--out', join(dir, 'x')]);
    expect(noTask.code).toBe(2);
    expect(noTask.stderr).toMatch(/--clutter sets the canvases of --task cluttered-digits/);
    const noDigits = await attend(['train', '--task', 'cluttered-digits', '--preset', 'stn-classifier', '--out', join(dir, 'y')]);
    expect(noDigits.code).toBe(2);
    expect(noDigits.stderr).toMatch(/--task cluttered-digits draws its canvases from digits: give --images/);
    const tooBig = await attend(['train', '--task', 'cluttered-digits', '--images', DIGITS, '--canvas-size', '6', '--preset', 'canvas-classifier', '--out', join(dir, 'z')]);
    expect(tooBig.code).toBe(2);
    expect(tooBig.stderr).toMatch(/--digit-size: 8 does not fit a canvas of 6/);
  }, 120_000);
});
