// bench:where's figures: the accuracy chart, what each kind of model looked at (small untrained
// models on seeded canvases of made-up digits), and the bench itself writing them into a folder
// of the test's own (--figures from a results file; a two-step run of four models, which needs
// ../shared/data/digits8x8.csv and is skipped without it).

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clutteredDigits, createModelConfig, createRng, imageConfig, type ModelConfigInput } from '@attend/core';
import * as t from '@attend/transformer';
import { figureSheetSvg } from './figure-sheet.js';
import { xmlProblem } from './test-utils/xml.js';
import { accuracyChartSvg, whereFigures, type WhereCanvas } from './where-figures.js';

const BENCH = fileURLToPath(new URL('../bench/where-to-look.mjs', import.meta.url));
const RESULTS = fileURLToPath(new URL('../../../bench/results', import.meta.url));
const DIGITS = fileURLToPath(new URL('../../../../shared/data/digits8x8.csv', import.meta.url));

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'attend-where-figures-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The texts of an SVG's <text> elements. */
const texts = (svg: string) => [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]!);

describe('accuracyChartSvg', () => {
  it('one bar per model and data set, the models in the order of their letters, chance marked', async () => {
    const results = [
      { data: 'translated', model: '(b) STN', accuracy: 0.5 },
      { data: 'cluttered', model: '(b) STN', accuracy: 0.125 },
      { data: 'cluttered', model: '(a) canvas', accuracy: 0.25 },
      { data: 'translated', model: '(a) canvas', accuracy: 0.833 },
    ];
    const svg = await accuracyChartSvg(results, 'where & when', 0.1);
    expect(xmlProblem(svg)).toBeUndefined();
    expect(svg.match(/aria-roledescription="bar"/g)).toHaveLength(4);
    const labels = texts(svg);
    for (const label of ['83.3%', '25.0%', '50.0%', '12.5%', 'chance 10 %', 'translated', 'cluttered', 'where &amp; when']) expect(labels).toContain(label);
    // The x axis reads (a) before (b), though (b) came first in the results.
    expect(labels.indexOf('(a) canvas')).toBeGreaterThanOrEqual(0);
    expect(labels.indexOf('(a) canvas')).toBeLessThan(labels.indexOf('(b) STN'));
  });
});

describe('whereFigures', () => {
  const common = { numClasses: 10, imageSize: 32, numChannels: 1, pixelScale: 1, dropout: 0 };
  const MODELS: [string, ModelConfigInput][] = [
    ['(a) canvas', { preset: 'canvas-classifier', ...common, maxSeqLen: 1, dModel: 16, numHiddenLayers: 1, convChannels: [] }],
    ['(b) stn', { preset: 'stn-classifier', ...common, maxSeqLen: 1, dModel: 16, numHiddenLayers: 1, convChannels: [], outputSize: 16, locHiddenSize: 8 }],
    ['(c) ram', { preset: 'glimpse-classifier', ...common, maxSeqLen: 3, dModel: 16, numGlimpses: 3, numScales: 2, glimpsePatch: 8, locationStd: 0.15 }],
    ['(d) vit', { preset: 'vit-classifier', ...common, patchSize: 8, maxSeqLen: 17, dModel: 16, numHeads: 2, numEncoderLayers: 1, dFf: 32 }],
  ];
  // Two canvases of made-up 8 × 8 digits (class k: random pixels), clutter included.
  const rng = createRng(5);
  const digits = Array.from({ length: 20 }, (_, i) => ({ features: Array.from({ length: 64 }, () => (rng.next() < 0.3 ? rng.next() : 0)), label: i % 10 }));
  const canvases: WhereCanvas[] = clutteredDigits(digits, { count: 2, seed: 3, size: 32, clutter: 2 }).map((c) => ({ pixels: c.pixels, label: c.label }));
  const figures = new Map<string, { svgs: string[]; predicted: number[] }>();

  beforeAll(async () => {
    await t.setupBackend();
    for (const [name, input] of MODELS) {
      const config = imageConfig(createModelConfig(input), name);
      const model = t.createModel(config, { seed: 1 });
      try {
        const pixels = new Float32Array(2 * 32 * 32);
        canvases.forEach((c, i) => pixels.set(c.pixels, i * 32 * 32));
        const predicted = (await t.classify(model, t.imageTrainBatch(pixels, new Int32Array(2), config).input)).map((p) => p.label);
        figures.set(name, { svgs: await whereFigures(t, model, name, canvases), predicted });
      } finally {
        model.dispose();
      }
    }
  }, 60_000);

  /** The panel titles `name` should carry: the model, the canvas's true class and the class predicted. */
  const titles = (name: string) => canvases.map((c, i) => `${name} · canvas ${i + 1} · true ${c.label} · predicted ${figures.get(name)!.predicted[i]} (p = `);

  it('the plain classifier: one figure of the canvases alone, a row per canvas titled, no legend', () => {
    const { svgs } = figures.get('(a) canvas')!;
    expect(svgs).toHaveLength(1);
    expect(xmlProblem(svgs[0]!)).toBeUndefined();
    expect(svgs[0]).toContain('(a) canvas: reads the whole canvas');
    for (const title of titles('(a) canvas')) expect(svgs[0]).toContain(title);
    expect(texts(svgs[0]!).filter((x) => x === 'image')).toHaveLength(2);
    expect(svgs[0]).not.toContain('weight at a pixel');
  });

  it('the STN: a figure per canvas with its sampling grid and the image it read', () => {
    const { svgs } = figures.get('(b) stn')!;
    expect(svgs).toHaveLength(2);
    svgs.forEach((svg, i) => {
      expect(xmlProblem(svg)).toBeUndefined();
      expect(svg).toContain(titles('(b) stn')[i]);
      expect(svg).toContain('input 32×32 and the sampling grid (θ)');
      expect(svg).toContain('what the classifier saw (16×16)');
      // The canvas's lit pixels only (8 × 8 px cells of the 256 px panel), without a label each: 0 is the background's white.
      const cells = svg.match(/<path d="M[\d.]+,[\d.]+h8v8h-8Z"/g) ?? [];
      expect(cells).toHaveLength(canvases[i]!.pixels.filter((v) => v > 0).length);
      expect(svg).not.toContain('aria-roledescription="rect mark"');
    });
  });

  it('the RAM: a figure per canvas with its glimpses step by step', () => {
    const { svgs } = figures.get('(c) ram')!;
    expect(svgs).toHaveLength(2);
    svgs.forEach((svg, i) => {
      expect(xmlProblem(svg)).toBeUndefined();
      expect(svg).toContain(titles('(c) ram')[i]);
      expect(svg.match(/glimpse \d at/g)).toEqual(['glimpse 1 at', 'glimpse 2 at', 'glimpse 3 at']);
    });
  });

  it("the ViT: one figure with each canvas's rollout over the 4 × 4 patches", () => {
    const { svgs } = figures.get('(d) vit')!;
    expect(svgs).toHaveLength(1);
    expect(xmlProblem(svgs[0]!)).toBeUndefined();
    expect(svgs[0]).toContain("(d) vit: the CLS token's attention rollout over 4×4 patches");
    for (const title of titles('(d) vit')) expect(svgs[0]).toContain(title);
    expect(texts(svgs[0]!).filter((x) => x === 'rollout')).toHaveLength(2);
    expect(svgs[0]).toContain('weight at a pixel');
  });

  it('the sheet of all of them is one well-formed SVG with each figure nested once, ids unique', () => {
    const all = [...figures.values()].map((f) => f.svgs);
    const sheet = figureSheetSvg('what each model looked at', all);
    expect(xmlProblem(sheet)).toBeUndefined();
    expect(sheet.match(/<svg x="/g)).toHaveLength(all.flat().length);
    const ids = [...sheet.matchAll(/ id="([^"]+)"/g)].map((m) => m[1]);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

/** Runs the bench with `args`; its exit code and output. */
function bench(args: string[]): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BENCH, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout }));
  });
}

describe('bench:where figures', () => {
  it('--figures draws <out>.svg from <out>.json in --dir, without training', async () => {
    const results = [
      { data: 'translated', model: '(a) canvas MLP', accuracy: 0.296 },
      { data: 'cluttered', model: '(a) canvas MLP', accuracy: 0.12 },
    ];
    const setup = { date: 'd', canvas: 32, steps: 400, batchSize: 64, testCanvases: 1000 };
    await writeFile(join(dir, 'old.json'), JSON.stringify({ ...setup, models: [{ numClasses: 10 }], results }));
    const run = await bench(['--figures', '--dir', dir, '--out', 'old']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`wrote ${join(dir, 'old.svg')}`);
    const svg = await readFile(join(dir, 'old.svg'), 'utf8');
    expect(xmlProblem(svg)).toBeUndefined();
    for (const label of ['29.6%', '12.0%', 'chance 10 %', '(a) canvas MLP']) expect(texts(svg)).toContain(label);

    const missing = await bench(['--figures', '--dir', dir, '--out', 'none']);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toContain(`bench:where --figures: ${join(dir, 'none.json')} not found`);
  }, 30_000);

  it.skipIf(!existsSync(DIGITS))('a two-step run of four models writes the results, the chart and the sheet into --dir, none into bench/results', async () => {
    const before = await readdir(RESULTS);
    const out = join(dir, 'run');
    const run = await bench(['--steps', '2', '--test', '20', '--data', 'cluttered', '--canvases', '2', '--models', 'canvas MLP,stn-classifier,glimpse,vit', '--out', 'tiny', '--dir', out]);
    expect(run.code).toBe(0);
    expect((await readdir(out)).sort()).toEqual(['tiny-where-cluttered.svg', 'tiny.json', 'tiny.md', 'tiny.svg']);
    expect(await readdir(RESULTS)).toEqual(before);
    const chart = await readFile(join(out, 'tiny.svg'), 'utf8');
    expect(xmlProblem(chart)).toBeUndefined();
    expect(chart.match(/aria-roledescription="bar"/g)).toHaveLength(4);
    const sheet = await readFile(join(out, 'tiny-where-cluttered.svg'), 'utf8');
    expect(xmlProblem(sheet)).toBeUndefined();
    // The same two canvases for every model: each model's panels name canvas 1 and 2 with the same true classes.
    const truth = (model: string) => [1, 2].map((n) => new RegExp(`${model.replace(/[()]/g, '\\$&')} · canvas ${n} · true (\\d) · predicted \\d`).exec(sheet)?.[1]);
    const models = ['(a) canvas MLP', '(b) stn-classifier', '(c) glimpse-classifier', '(d) vit-classifier'];
    const classes = models.map(truth);
    for (const c of classes) expect(c).toEqual(classes[0]);
    expect(classes[0]!.every((c) => c !== undefined)).toBe(true);
    expect(sheet).toContain('what the classifier saw');
    expect(sheet).toContain('glimpse 6 at');
    expect(sheet).toContain("attention rollout over 4×4 patches");
  }, 60_000);
});
