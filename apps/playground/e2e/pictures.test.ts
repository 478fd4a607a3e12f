// The playground's pictures of attention in chromium, checked against onnxruntime-node on the same
// export folders: the head view (every layer's and head's self-attention, bertviz-style, and the
// layers × heads grid) of Hugging Face GPT-2 and BERT checkpoints, and a Marian checkpoint's
// encoder self, decoder self and cross attention, made by the PyTorch reference
// script (e2e/hf-reference/hf_reference.py; skipped, saying so, without Debian's python3-torch),
// imported and exported with attention outputs; an imported BERT's sentence pair (the second text
// box) classified with its token types; and where the image models looked at a stroke
// painted off-centre: the plain canvas classifier's class and probabilities (it draws no picture), the STN's sampling quadrilateral (MLP or CNN localisation network, affine or attention θ), the
// glimpse model's boxes step by step, the ViT's rollout over the canvas; and the captioners'
// caption of a painted scene with each word's attention over it. The numbers the page drew from
// must equal node's.
// Needs the app built (`npm run build`; turbo does it).

import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { preview, type PreviewServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkpointFiles, clsAttentionGrid, encoderPairIds, flatAttentionRollout, glimpseBoxes, samplingQuadrilateral } from '@attend/core';
import { importHf } from '@attend/core/node';
import { asSession, classifications, exportCheckpointFiles, exportFolderFiles, ImageClassifierSession, Seq2SeqForwardSession, textModelSession, type ForwardOutputs } from '@attend/runtime-onnx';
import { classify, createOnnxModel } from '@attend/runtime-onnx/node';
import { python, torchMissing as missingTorch } from '../../../e2e/src/hf-reference.js';
import { tinyExport, tinyImageExport, tinyVitExport } from '../src/test-utils/fixtures.js';
import { testDigits, testScene } from '../src/caption-steps.js';
import { captionScene } from '../src/caption-view.js';
import { memoryFolderFiles, readModelFolder, textTokenizer } from '../src/model-folder.js';

const app = dirname(dirname(fileURLToPath(import.meta.url)));
const dist = join(app, 'dist');
const outDir = join(app, 'test-output');
const CHROMIUM = '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const torchMissing = missingTorch('playground pictures.test.ts');

if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing; install Debian's chromium (apt-get install -y chromium), as .ci/run does`);
if (!existsSync(join(dist, 'index.html'))) throw new Error(`${dist} holds no built app; run the app's build first`);

let server: PreviewServer;
let context: BrowserContext;
let page: Page;
let dir: string;
const pageErrors: string[] = [];

beforeAll(async () => {
  await mkdir(outDir, { recursive: true });
  dir = await mkdtemp(join(tmpdir(), 'attend-pictures-'));
  server = await preview({ root: app, logLevel: 'silent', preview: { host: '127.0.0.1', port: 0, strictPort: false, open: false } });
  const { port } = server.httpServer.address() as AddressInfo;
  context = await chromium.launchPersistentContext(join(dir, 'chromium'), { executablePath: CHROMIUM, headless: true, args: FLAGS, viewport: { width: 1280, height: 900 } });
  page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(`http://127.0.0.1:${port}/`);
  await page.waitForSelector('body[data-model="ready"]', { timeout: 90_000 });
});

afterAll(async () => {
  await context?.close();
  await new Promise<void>((resolve) => (server ? server.httpServer.close(() => resolve()) : resolve()));
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Loads these folder files through the page's file picker and waits for the status line. */
async function load(files: Record<string, Uint8Array>, status: string): Promise<void> {
  await page.setInputFiles('#file-input', Object.entries(files).map(([path, bytes]) => ({ name: path.replace('onnx/', ''), mimeType: 'application/octet-stream', buffer: Buffer.from(bytes) })));
  await page.waitForFunction((s) => document.querySelector('#model-status')?.textContent?.startsWith(s), status, { timeout: 60_000 });
}

const numbers = (text: string | null): number[] => (text ?? '').split(/[ ,]/).filter((x) => x !== '').map(Number);

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

describe.skipIf(torchMissing)('head view of imported Hugging Face models', () => {
  const CASES = [
    { kind: 'gpt2', text: 'the cat sat', status: 'Loaded model: decoder-lm' },
    { kind: 'bert-cls', text: 'the cat sat on the mat', status: 'Loaded model: encoder-classifier' },
  ] as const;

  it.each(CASES)('$kind: every layer and head as onnxruntime-node computes it, heads toggled, the weight under the pointer', async (c) => {
    const hf = join(dir, c.kind);
    await python(['make', c.kind, hf, '--seed', '7']);
    const files = exportFolderFiles(checkpointFiles((await importHf(hf)).data), { withAttention: true });
    await load(files, c.status);
    await page.fill('#input-text', c.text);
    await page.click('#run-button');
    await page.waitForSelector('body[data-run="done"]', { timeout: 60_000 });
    await expect(page.isVisible('#head-view-block')).resolves.toBe(true);

    const ids = numbers(await page.getAttribute('#head-view', 'data-ids'));
    const node = await createOnnxModel(files['onnx/model.onnx']!);
    const out = await textModelSession(node).run({ inputIds: { data: ids, batchSize: 1, seqLen: ids.length } });
    await node.release();
    const T = ids.length;
    const layers = Object.keys(out.attentions).filter((name) => name.startsWith('attentions.')).length;
    const H = out.attentions['attentions.0']!.dims[1]!;
    expect(T).toBeGreaterThan(2);
    expect(layers).toBe(2);
    await expect(page.locator('#head-layer option').count()).resolves.toBe(layers);
    await expect(page.locator('#head-toggles button').count()).resolves.toBe(H);
    await expect(page.locator('#head-grid canvas').count()).resolves.toBe(layers * H);
    for (let l = 0; l < layers; l++) {
      await page.selectOption('#head-layer', String(l));
      const drawn = numbers(await page.getAttribute('#head-view', 'data-weights'));
      expect(maxDiff(drawn, out.attentions[`attentions.${l}`]!.data), `layer ${l}`).toBeLessThanOrEqual(1e-5);
      await expect(page.getAttribute('#head-view', 'data-lines')).resolves.toBe(String(H * T * T));
    }

    // Head 1 off: its lines go; the weight under the pointer is a line of the heads still shown.
    await page.click('#head-toggles button[data-head="1"]');
    await expect(page.getAttribute('#head-view', 'data-lines')).resolves.toBe(String((H - 1) * T * T));
    const box = (await page.locator('#head-view').boundingBox())!;
    // A quarter of the way along the line from the first query to the last key (layout: 90 px labels, 150 px gap, 18 px rows from y 4).
    const y = (i: number): number => 4 + 18 * i + 9;
    await page.mouse.move(box.x + 90 + 150 / 4, box.y + y(0) + (y(T - 1) - y(0)) / 4);
    const line = numbers(await page.getAttribute('#head-readout', 'data-line'));
    const weight = Number(await page.getAttribute('#head-readout', 'data-weight'));
    expect(line).toHaveLength(3);
    const [head, from, to] = line as [number, number, number];
    expect(head).not.toBe(1);
    const last = out.attentions[`attentions.${layers - 1}`]!.data;
    expect(Math.abs(weight - last[(head * T + from) * T + to]!)).toBeLessThanOrEqual(1e-5);
    await expect(page.textContent('#head-readout')).resolves.toMatch(new RegExp(`^layer ${layers - 1} · head ${head} · `));
    // The pointer on a query token keeps only its lines.
    await page.mouse.move(box.x + 20, box.y + y(1));
    await expect(page.getAttribute('#head-view', 'data-lines')).resolves.toBe(String((H - 1) * T));
    await page.locator('#head-view-block').screenshot({ path: join(outDir, `head-view-${c.kind}.png`) });
    expect(pageErrors).toEqual([]);
  }, 180_000);
});

describe.skipIf(torchMissing)('sentence pairs in the text-classification view', () => {
  it("an imported BERT gets a second text box; the pair's probabilities and head view are onnxruntime-node's with the token types", async () => {
    const hf = join(dir, 'bert-pair');
    await python(['make', 'bert-cls', hf, '--seed', '8']);
    const checkpoint = checkpointFiles((await importHf(hf)).data);
    const files = exportFolderFiles(checkpoint, { withAttention: true });
    await load(files, 'Loaded model: encoder-classifier');
    await expect(page.isVisible('#input-pair')).resolves.toBe(true);
    await page.fill('#input-text', 'the cat sat');
    await page.fill('#input-pair', 'on the mat');
    await page.click('#run-button');
    await page.waitForSelector('body[data-run="done"]', { timeout: 60_000 });
    const { ids, typeIds } = encoderPairIds(textTokenizer(await readModelFolder(memoryFolderFiles(files), 'b/')), 'the cat sat', 'on the mat');
    expect(new Set(typeIds)).toEqual(new Set([0, 1]));
    await expect(page.getAttribute('#head-view', 'data-ids')).resolves.toBe(ids.join(' '));
    // Which segment each token belongs to: the head view's blue labels and the status line.
    await expect(page.getAttribute('#head-view', 'data-segments')).resolves.toBe(typeIds.join(' '));
    const segmentB = typeIds.filter((t) => t === 1).length;
    await expect(page.textContent('#latency')).resolves.toContain(`segment A ${typeIds.length - segmentB} tokens, segment B ${segmentB}`);
    const node = await createOnnxModel(files['onnx/model.onnx']!);
    const [expected] = await classify(node, { ids: Int32Array.from(ids), batchSize: 1, seqLen: ids.length, tokenTypes: typeIds });
    const out = await textModelSession(node).run({ inputIds: { data: ids, batchSize: 1, seqLen: ids.length }, tokenTypeIds: { data: typeIds, batchSize: 1, seqLen: ids.length } });
    await node.release();
    expect(maxDiff(numbers(await page.getAttribute('#output-text', 'data-probabilities')), expected!.probabilities)).toBeLessThanOrEqual(1e-5);
    await page.selectOption('#head-layer', '0');
    expect(maxDiff(numbers(await page.getAttribute('#head-view', 'data-weights')), out.attentions['attentions.0']!.data)).toBeLessThanOrEqual(1e-5);
    // One text again: no segments.
    await page.fill('#input-pair', '');
    await page.click('#run-button');
    await page.waitForSelector('body[data-run="done"]', { timeout: 60_000 });
    await expect(page.getAttribute('#head-view', 'data-segments')).resolves.toBeNull();
    await expect(page.textContent('#latency')).resolves.not.toContain('sentence pair');
    // A decoder-lm reads one text: no second box.
    const gpt2 = join(dir, 'gpt2-pair');
    await python(['make', 'gpt2', gpt2, '--seed', '8']);
    await load(exportFolderFiles(checkpointFiles((await importHf(gpt2)).data)), 'Loaded model: decoder-lm');
    await expect(page.isHidden('#input-pair')).resolves.toBe(true);
    expect(pageErrors).toEqual([]);
  }, 180_000);
});

describe.skipIf(torchMissing)('head view of an imported Marian (encoder–decoder) model', () => {
  it('encoder self, decoder self and cross attention of every layer as onnxruntime-node computes them teacher-forced', async () => {
    const hf = join(dir, 'marian');
    await python(['make', 'marian', hf, '--seed', '7']);
    const data = (await importHf(hf)).data;
    await load(exportFolderFiles(checkpointFiles(data), { withAttention: true }), 'Loaded model: encoder-decoder');
    await page.fill('#input-text', 'the cat sat on the mat');
    await page.click('#run-button');
    await page.waitForSelector('body[data-run="done"]', { timeout: 60_000 });
    await expect(page.isVisible('#head-attention-label')).resolves.toBe(true);
    await expect(page.locator('#head-attention option').allTextContents()).resolves.toEqual(['encoder self-attention', 'decoder self-attention', 'cross-attention']);

    // The same attentions from the teacher-forced forward graph on the page's source and decoder inputs.
    await page.selectOption('#head-attention', '2');
    const source = numbers(await page.getAttribute('#head-view', 'data-keys'));
    const decoder = numbers(await page.getAttribute('#head-view', 'data-ids'));
    expect(decoder.length).toBeGreaterThan(1);
    const node = asSession(await createOnnxModel(exportCheckpointFiles(checkpointFiles(data), { withAttention: true })), Seq2SeqForwardSession);
    const out = await node.run({ inputIds: { data: source, batchSize: 1, seqLen: source.length }, decoderInputIds: { data: decoder, batchSize: 1, seqLen: decoder.length } });
    await node.release();
    const layers = Object.keys(out.attentions).filter((name) => name.startsWith('cross_attentions.')).length;
    const H = out.attentions['cross_attentions.0']!.dims[1]!;
    const [S, T] = [source.length, decoder.length];
    for (const [option, prefix, lines] of [['0', 'encoder_attentions', S * S], ['1', 'decoder_attentions', T * T], ['2', 'cross_attentions', T * S]] as const) {
      await page.selectOption('#head-attention', option);
      await expect(page.locator('#head-layer option').count()).resolves.toBe(layers);
      await expect(page.locator('#head-grid canvas').count()).resolves.toBe(layers * H);
      for (let l = 0; l < layers; l++) {
        await page.selectOption('#head-layer', String(l));
        const drawn = numbers(await page.getAttribute('#head-view', 'data-weights'));
        expect(maxDiff(drawn, out.attentions[`${prefix}.${l}`]!.data), `${prefix}.${l}`).toBeLessThanOrEqual(1e-5);
        await expect(page.getAttribute('#head-view', 'data-lines')).resolves.toBe(String(H * lines));
      }
    }
    await page.locator('#head-view-block').screenshot({ path: join(outDir, 'head-view-marian-cross.png') });
    expect(pageErrors).toEqual([]);
  }, 180_000);
});

/** Paints a short diagonal stroke near the lower right of the canvas; returns the painted pixels. */
async function paintOffCentre(): Promise<Float32Array> {
  await page.click('#image-clear');
  const box = (await page.locator('#image-canvas').boundingBox())!;
  await page.mouse.move(box.x + box.width * 0.6, box.y + box.height * 0.55);
  await page.mouse.down();
  for (let t = 0; t <= 1; t += 0.1) await page.mouse.move(box.x + box.width * (0.6 + 0.3 * t), box.y + box.height * (0.55 + 0.35 * t));
  await page.mouse.up();
  return Float32Array.from(numbers(await page.getAttribute('#image-canvas', 'data-pixels')));
}

/**
 * Loads an image export, paints a stroke off-centre and classifies it in the page; the
 * where-to-look block must show (saved as `where-<name>.png`). Returns onnxruntime-node's outputs
 * for the pixels the page painted.
 */
async function paintAndClassify(files: Record<string, Uint8Array>, kind: string, name: string): Promise<ForwardOutputs> {
  await load(files, `Loaded model: ${kind}`);
  const pixels = await paintOffCentre();
  await page.click('#image-run');
  await page.waitForSelector('body[data-run="done"]', { timeout: 60_000 });
  await expect(page.isVisible('#where-block')).resolves.toBe(true);
  await page.locator('#where-block').screenshot({ path: join(outDir, `where-${name}.png`) });
  const node = await createOnnxModel(files['onnx/model.onnx']!);
  const out = await asSession(node, ImageClassifierSession).runImages(pixels, 1);
  await node.release();
  return out;
}

describe('where the image models looked, at a stroke painted off-centre', () => {
  it.each([
    { name: 'mlp', convChannels: [] },
    { name: 'cnn', convChannels: [4, 4] },
  ])("canvas-classifier ($name): the class and probabilities are onnxruntime-node's, with no picture of where it looked", async ({ name, convChannels }) => {
    const files = await tinyImageExport({ preset: 'canvas-classifier', imageSize: 16, dModel: 16, numHiddenLayers: 1, convChannels });
    await load(files, 'Loaded model: canvas-classifier');
    const pixels = await paintOffCentre();
    await page.click('#image-run');
    await page.waitForSelector('body[data-run="done"]', { timeout: 60_000 });
    await page.locator('#image-input').screenshot({ path: join(outDir, `canvas-${name}.png`) });
    const node = await createOnnxModel(files['onnx/model.onnx']!);
    const out = await asSession(node, ImageClassifierSession).runImages(pixels, 1);
    await node.release();
    const [expected] = classifications(out.logits.data, 1, 3);
    const result = page.locator('#output-text');
    await expect(result.getAttribute('data-label')).resolves.toBe(String(expected!.label));
    expect(maxDiff(numbers(await result.getAttribute('data-probabilities')), expected!.probabilities)).toBeLessThanOrEqual(1e-5);
    expect(pixels.some((x) => x > 0)).toBe(true); // the stroke was painted
    // It reads the canvas whole: no sampling grid, glimpses or rollout to draw.
    await expect(page.isVisible('#where-block')).resolves.toBe(false);
    await expect(page.isVisible('#no-attention')).resolves.toBe(false);
    await expect(page.isVisible('#image-attention-block')).resolves.toBe(false);
    expect(pageErrors).toEqual([]);
  }, 120_000);

  it.each([
    { name: 'stn', locConvChannels: [], stnTransform: 'affine' as const },
    { name: 'stn-loc-cnn', locConvChannels: [4, 4], stnTransform: 'affine' as const },
    { name: 'stn-attention', locConvChannels: [], stnTransform: 'attention' as const },
  ])("stn-classifier ($name): the sampling quadrilateral is θ's from onnxruntime-node, drawn on the canvas", async ({ name, locConvChannels, stnTransform }) => {
    // Small weights: θ stays near enough the identity for the quadrilateral to lie mostly on the canvas.
    const files = await tinyImageExport({ preset: 'stn-classifier', imageSize: 16, outputSize: 8, dModel: 16, numHiddenLayers: 1, locHiddenSize: 8, locConvChannels, stnTransform }, { std: 0.05 });
    const out = await paintAndClassify(files, 'stn-classifier', name);
    const expected = samplingQuadrilateral(out.attentions.theta!.data, 16);
    const canvas = page.locator('#where-maps canvas').first();
    const drawn = JSON.parse((await canvas.getAttribute('data-quad'))!) as { x: number; y: number }[];
    expect(maxDiff(drawn.flatMap((p) => [p.x, p.y]), expected.flatMap((p) => [p.x, p.y]))).toBeLessThanOrEqual(1e-4);
    // Not the identity's square: θ came from the network, not from its initialisation.
    expect(maxDiff(expected.flatMap((p) => [p.x, p.y]), samplingQuadrilateral([1, 0, 0, 0, 1, 0], 16).flatMap((p) => [p.x, p.y]))).toBeGreaterThan(0.05);
    // Beside it, the transformed 8×8 image the classifier saw.
    await expect(page.locator('#where-maps canvas').nth(1).getAttribute('data-rows')).resolves.toBe('8');
    // The quadrilateral's colour is on the canvas at the middle of an edge that lies inside it.
    const cell = Math.floor(224 / 16);
    const inside = expected.slice(0, 4).map((p, i) => ({ x: (p.x + expected[i + 1]!.x) / 2, y: (p.y + expected[i + 1]!.y) / 2 })).find((m) => m.x > 0.5 && m.y > 0.5 && m.x < 15.5 && m.y < 15.5);
    expect(inside).toBeDefined();
    const rgb = await canvas.evaluate((c: HTMLCanvasElement, [x, y]) => Array.from(c.getContext('2d')!.getImageData(Math.round(x!), Math.round(y!), 1, 1).data.slice(0, 3)), [inside!.x * cell, inside!.y * cell]);
    expect(Math.abs(rgb[0]! - 0xe4) + Math.abs(rgb[1]! - 0x57) + Math.abs(rgb[2]! - 0x2e)).toBeLessThan(60);
    expect(pageErrors).toEqual([]);
  }, 120_000);

  it("glimpse-classifier: one panel per glimpse, its boxes at onnxruntime-node's locations", async () => {
    const fields = { preset: 'glimpse-classifier', imageSize: 16, numGlimpses: 3, glimpsePatch: 4, numScales: 2, dModel: 16, glimpseHidden: 8, locationHidden: 8, glimpseSize: 16 } as const;
    const files = await tinyImageExport(fields);
    const out = await paintAndClassify(files, 'glimpse-classifier', 'glimpse');
    const locations = out.attentions.locations!.data;
    const panels = page.locator('#where-maps canvas');
    await expect(panels.count()).resolves.toBe(3);
    for (let t = 0; t < 3; t++) {
      const drawn = JSON.parse((await panels.nth(t).getAttribute('data-boxes'))!) as { x: number; y: number; size: number }[];
      const expected = glimpseBoxes(fields, [locations[2 * t]!, locations[2 * t + 1]!]);
      expect(drawn.map((b) => b.size)).toEqual([4, 8]);
      expect(maxDiff(drawn.flatMap((b) => [b.x, b.y]), expected.flatMap((b) => [b.x, b.y])), `glimpse ${t + 1}`).toBeLessThanOrEqual(1e-4);
    }
    expect(pageErrors).toEqual([]);
  }, 120_000);

  it("vit-classifier: the rollout over the canvas is onnxruntime-node's attention rolled out", async () => {
    const files = await tinyVitExport();
    const out = await paintAndClassify(files, 'vit-classifier', 'vit');
    const layers = [0, 1].map((l) => out.attentions[`attentions.${l}`]!.data);
    const expected = clsAttentionGrid(flatAttentionRollout(layers, 2)).flat();
    const drawn = numbers(await page.locator('#where-maps canvas').first().getAttribute('data-rollout'));
    expect(drawn).toHaveLength(16);
    expect(maxDiff(drawn, expected)).toBeLessThanOrEqual(1e-5);
    expect(pageErrors).toEqual([]);
  }, 120_000);
});

describe('captioners: the caption of a painted scene, and each word over it', () => {
  const CASES = [
    { name: 'vision-encoder-decoder', preset: 'vision-encoder-decoder', fields: { patchSize: 4 }, graphs: ['onnx/encoder_model.onnx', 'onnx/decoder_model_merged.onnx'] },
    { name: 'image-captioner, soft', preset: 'image-captioner', fields: { visualAttention: 'soft', patchSize: 4, patchStride: 4 }, graphs: ['onnx/captioner_encoder.onnx', 'onnx/captioner_decoder_step.onnx'] },
    { name: 'image-captioner, hard', preset: 'image-captioner', fields: { visualAttention: 'hard', patchSize: 4, patchStride: 4 }, graphs: ['onnx/captioner_encoder.onnx', 'onnx/captioner_decoder_step.onnx'] },
  ] as const;

  it.each(CASES)("$name: the caption and each word's α are onnxruntime-node's for the painted pixels; a legend and the weight under the pointer", async (c) => {
    const files = await tinyExport(c.preset, { withAttention: true, fields: { imageHeight: 8, imageWidth: 16, maxSeqLen: 6, ...c.fields } });
    await load(files, `Loaded model: ${c.preset}`);
    await expect(page.textContent('#image-run')).resolves.toBe('Caption');
    const pixels = await paintOffCentre();
    expect(pixels).toHaveLength(8 * 16);
    await page.click('#image-run');
    await page.waitForSelector('body[data-run="done"]', { timeout: 60_000 });
    await page.locator('#where-block').screenshot({ path: join(outDir, `caption-${c.preset}.png`) });
    const folder = await readModelFolder(memoryFolderFiles(files), '');
    const [encoder, decoder] = await Promise.all(c.graphs.map((path) => createOnnxModel(files[path]!)));
    const want = await captionScene({ encoder: encoder!, decoder: decoder! }, textTokenizer(folder), pixels);
    await Promise.all([encoder!.release(), decoder!.release()]);
    await expect(page.textContent('#output-text')).resolves.toBe(want.output);
    const panels = page.locator('#where-maps canvas');
    await expect(panels.count()).resolves.toBe(want.words.length);
    for (let t = 0; t < want.words.length; t++) {
      await expect(panels.nth(t).getAttribute('data-word')).resolves.toBe(want.words[t]);
      expect(maxDiff(numbers(await panels.nth(t).getAttribute('data-alpha')), want.alphas[t]!), `word ${t}`).toBeLessThanOrEqual(1e-4);
      expect(await panels.nth(t).getAttribute('data-legend')).not.toBe('');
    }
    const box = (await panels.first().boundingBox())!;
    await page.mouse.move(box.x + 3, box.y + 3);
    await expect(panels.first().getAttribute('data-hover')).resolves.toMatch(/^y0 × x0: /);
    await stepThroughWords(want);
    if (c.preset === 'vision-encoder-decoder') {
      // The last layer's mean is the default; layer 0, head 1 re-captions with that pick.
      await expect(page.locator('#caption-layer option').count()).resolves.toBe(2);
      await expect(page.locator('#caption-head option').count()).resolves.toBe(3);
      for (const [id, value] of [['#caption-layer', '0'], ['#caption-head', '1']] as const) {
        await page.selectOption(id, value);
        await page.waitForSelector('body[data-run="done"]', { timeout: 60_000 });
      }
      const [encoder, decoder] = await Promise.all(c.graphs.map((path) => createOnnxModel(files[path]!)));
      const picked = await captionScene({ encoder: encoder!, decoder: decoder! }, textTokenizer(folder), pixels, { layer: 0, head: 1 });
      await Promise.all([encoder!.release(), decoder!.release()]);
      expect(picked.alphas.some((a, t) => maxDiff(a, want.alphas[t]!) > 1e-3)).toBe(true);
      await stepThroughWords(picked);
    } else {
      await expect(page.isVisible('#caption-layer-label')).resolves.toBe(false);
    }
    const hard = 'visualAttention' in c.fields && c.fields.visualAttention === 'hard';
    await expect(page.isVisible('#caption-reading-label')).resolves.toBe(hard);
    if (hard) {
      // The expectation Σ α a instead of the arg-max location: re-captioned, α onnxruntime-node's for that reading, no location outlined.
      await page.selectOption('#caption-reading', 'expectation');
      await page.waitForSelector('body[data-run="done"]', { timeout: 60_000 });
      const [encoder, decoder] = await Promise.all(c.graphs.map((path) => createOnnxModel(files[path]!)));
      const expectation = await captionScene({ encoder: encoder!, decoder: decoder! }, textTokenizer(folder), pixels, {}, { hardInference: 'expectation' });
      await Promise.all([encoder!.release(), decoder!.release()]);
      expect(expectation.alphas.some((a, t) => t >= want.alphas.length || maxDiff(a, want.alphas[t]!) > 1e-3)).toBe(true);
      await expect(page.textContent('#output-text')).resolves.toBe(expectation.output);
      await expect(panels.count()).resolves.toBe(expectation.words.length);
      for (let t = 0; t < expectation.words.length; t++) {
        expect(maxDiff(numbers(await panels.nth(t).getAttribute('data-alpha')), expectation.alphas[t]!), `expectation word ${t}`).toBeLessThanOrEqual(1e-4);
        await expect(panels.nth(t).locator('xpath=..').textContent()).resolves.not.toContain('location taken');
      }
      await stepThroughWords(expectation);
    }
    // A scene drawn from the test rows of a digits file the user gives: core's digitScenes on the model's canvas, as caption-steps.ts seeds it.
    const csv = Array.from({ length: 30 }, (_, r) => [...Array.from({ length: 64 }, (_, i) => (i + r) % 17), r % 10].join(',')).join('\n');
    await page.setInputFiles('#digits-input', { name: 'digits8x8.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await page.waitForFunction(() => !(document.querySelector('#scene-draw') as HTMLButtonElement).disabled);
    await page.fill('#scene-number', '2');
    await page.click('#scene-draw');
    const drawn = testScene(testDigits(csv, 'digits8x8.csv'), { imageHeight: 8, imageWidth: 16 }, 2);
    const { pixelScale } = folder.config as { pixelScale: number };
    expect(maxDiff(numbers(await page.getAttribute('#image-canvas', 'data-pixels')), drawn.pixels.map((v) => v / pixelScale))).toBeLessThanOrEqual(1e-6);
    await expect(page.textContent('#scene-info')).resolves.toBe(`test scene 2: "${drawn.caption}"`);
    expect(pageErrors).toEqual([]);
  }, 120_000);

  /** Steps with "next word" from the first word to the last: one large panel at a time, its word and α onnxruntime-node's within 1e-4, its legend and weight under the pointer. */
  async function stepThroughWords(want: { words: readonly string[]; alphas: readonly ArrayLike<number>[] }): Promise<void> {
    const panel = page.locator('#word-panel canvas');
    for (let t = 0; t < want.words.length; t++) {
      if (t > 0) await page.click('#word-next');
      await expect(panel.count()).resolves.toBe(1);
      await expect(page.textContent('#word-label')).resolves.toBe(`word ${t + 1} of ${want.words.length}: ${want.words[t]}`);
      await expect(panel.getAttribute('data-word')).resolves.toBe(want.words[t]);
      expect(maxDiff(numbers(await panel.getAttribute('data-alpha')), want.alphas[t]!), `stepped word ${t}`).toBeLessThanOrEqual(1e-4);
      expect(await panel.getAttribute('data-legend')).not.toBe('');
      const box = (await panel.boundingBox())!;
      await page.mouse.move(box.x + box.width / 2, box.y + box.height / 3);
      await expect(panel.getAttribute('data-hover')).resolves.toMatch(/^y\d+ × x\d+: /);
    }
    await expect(page.isDisabled('#word-next')).resolves.toBe(true);
    if (want.words.length < 2) return;
    await page.click('#word-prev');
    await expect(page.textContent('#word-label')).resolves.toBe(`word ${want.words.length - 1} of ${want.words.length}: ${want.words.at(-2)}`);
  }
});
