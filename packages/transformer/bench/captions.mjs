// Image captioning of digit scenes (Show and Tell vs Show, Attend and Tell): the image-captioner
// with no attention, soft attention and hard attention, and the Transformer captioner
// (vision-encoder-decoder, row 'transformer'), each trained for the same number of
// steps on scenes of 1–4 digits from the training rows of ../shared/data/digits8x8.csv, then
// captioned greedily on scenes made from the held-out test rows (digits never seen in training):
// exact match and corpus BLEU overall and by the number of digits, without and with clutter.
// Also draws each generated word's attention over a few test scenes (soft attention, and hard
// attention's arg-max location), upsampled from the feature grid to the pixels.
//
// Writes bench/results/captions.{json,md} and captions-attention.svg at the repo root.
//
// Usage: node packages/transformer/bench/captions.mjs [--steps 600] [--seed 1] [--clutter 4]

import * as tf from '@tensorflow/tfjs-core';
import { existsSync, mkdirSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { flag, repoRoot, writeAtomic } from './common.mjs';
import { attentionColor, attentionLegendStops, corpusBleu, createModelConfig, digitRowsOf, digitScenes, exactMatch, featureGrid, readCsvClassification, rgbHex, VISUAL_ATTENTIONS, WordTokenizer } from '@attend/core';
import { captionTask, createModel, imageBatch, setupBackend, train } from '../dist/index.js';

const dataPath = resolve(repoRoot, '../shared/data/digits8x8.csv');
const steps = flag('steps', 600);
const seed = flag('seed', 1);
const clutterLevel = flag('clutter', 4);
const trainCount = flag('train', 4000);
const testCount = flag('test', 400);
const batchSize = 32;
const line = (s = '') => process.stdout.write(`${s}\n`);
if (!existsSync(dataPath)) {
  line(`bench:captions: ${dataPath} not found (the digits live in ../shared/data next to the repository)`);
  process.exit(1);
}

const rows = await readCsvClassification(dataPath);
const backend = await setupBackend();
const shape = { height: 24, width: 48, minDigits: 1, maxDigits: 4 };
const scenes = (split, count, s, clutter) => digitScenes(digitRowsOf(rows, split), { count, seed: s, ...shape, clutter });
const asImages = (list) => list.map((x) => ({ pixels: x.pixels, caption: x.caption }));
const tokenizer = WordTokenizer.fromCorpus(scenes('train', 200, seed, 0).map((s) => s.caption));
line(`digit scenes ${shape.height}×${shape.width}, ${shape.minDigits}–${shape.maxDigits} digits; ${trainCount} train scenes, ${testCount} test scenes (held-out digit rows); ${steps} steps of ${batchSize} per model; tfjs ${backend.name}, ${cpus().length} cores, load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);

const results = [];
const figures = [];
for (const clutter of [0, clutterLevel]) {
  const trainImages = asImages(scenes('train', trainCount, seed, clutter));
  const testScenes = scenes('test', testCount, seed + 1, clutter);
  const testImages = asImages(testScenes);
  for (const visualAttention of [...VISUAL_ATTENTIONS, 'transformer']) {
    const sizes = { vocabSize: tokenizer.vocabSize, dModel: 64, imageHeight: shape.height, imageWidth: shape.width, maxSeqLen: shape.maxDigits + 2, dropout: 0 };
    const config = visualAttention === 'transformer'
      ? createModelConfig({ preset: 'vision-encoder-decoder', ...sizes, numHeads: 4, dFf: 128, numEncoderLayers: 2, numDecoderLayers: 2, patchSize: 4 })
      : createModelConfig({ preset: 'image-captioner', ...sizes, featureSize: 64, visualAttention });
    const model = createModel(config, { seed });
    const task = captionTask(trainImages, testImages, tokenizer, config, { batchSize, seed });
    const load = loadavg()[0];
    const started = performance.now();
    await train(model, task.nextBatch, { steps, learningRate: 3e-3, schedule: { kind: 'cosine', warmupSteps: 30, totalSteps: steps, minLr: 3e-4 }, logEvery: 1000 });
    const trainSeconds = (performance.now() - started) / 1000;
    const { outputs, loss } = await task.evaluate(model);
    const byDigits = {};
    for (let n = shape.minDigits; n <= shape.maxDigits; n++) {
      const idx = testScenes.map((s, i) => (s.labels.length === n ? i : -1)).filter((i) => i >= 0);
      const out = idx.map((i) => outputs[i]);
      const ref = idx.map((i) => testScenes[i].caption);
      byDigits[n] = { scenes: idx.length, exactMatch: exactMatch(out, ref), bleu: corpusBleu(out, ref).score };
    }
    const refs = testScenes.map((s) => s.caption);
    const r = { visualAttention, clutter, steps, trainSeconds, loadAtStart: load, parameters: model.parameterCount(), testLoss: loss, exactMatch: exactMatch(outputs, refs), bleu: corpusBleu(outputs, refs).score, byDigits, samples: outputs.slice(0, 5).map((o, i) => ({ caption: refs[i], output: o })) };
    results.push(r);
    line(`${visualAttention.padEnd(4)} clutter ${clutter}: exact match ${(100 * r.exactMatch).toFixed(1)}%, BLEU ${r.bleu.toFixed(2)}, by digits ${Object.entries(byDigits).map(([n, v]) => `${n}: ${(100 * v.exactMatch).toFixed(0)}%`).join(' ')} (${trainSeconds.toFixed(0)} s)`);
    if (clutter === 0 && 'visualAttention' in config && visualAttention !== 'none') figures.push(attentionFigure(model, config, testScenes.slice(0, 3), outputs.slice(0, 3), visualAttention));
    model.dispose();
  }
}

const dir = join(repoRoot, 'bench/results');
mkdirSync(dir, { recursive: true });
const meta = { date: new Date().toISOString(), backend: backend.name, cpus: cpus().length, loadAtEnd: loadavg(), seed, steps, batchSize, trainScenes: trainCount, testScenes: testCount, scene: shape, clutter: clutterLevel };
writeAtomic(join(dir, 'captions.json'), `${JSON.stringify({ ...meta, results }, null, 2)}\n`);
writeAtomic(join(dir, 'captions.md'), markdown());
writeAtomic(join(dir, 'captions-attention.svg'), svg(figures));
line(`wrote ${join(dir, 'captions.json')}, captions.md and captions-attention.svg`);

function markdown() {
  const pct = (x) => `${(100 * x).toFixed(1)}%`;
  const out = [
    '# Digit-scene captioning: Show and Tell vs Show, Attend and Tell',
    '',
    `\`npm run bench:captions\` (${meta.date}; tfjs ${meta.backend}, ${meta.cpus} cores, load average at the end ${meta.loadAtEnd.map((x) => x.toFixed(2)).join(' ')}).`,
    `Scenes ${shape.height}×${shape.width} of ${shape.minDigits}–${shape.maxDigits} digits; ${trainCount} training scenes from the training rows of digits8x8.csv, ${testCount} test scenes from held-out rows.`,
    `Each model: image-captioner, d 64, D 64, 8×8 windows at stride 4 (5×11 grid); transformer: vision-encoder-decoder, d 64, 4 heads, d_ff 128, 2 + 2 layers over 4×4 patches (6×12 + CLS); ${steps} steps of ${batchSize}, lr 3e-3 cosine; greedy captions.`,
    '',
    '| attention | clutter | exact match | BLEU | 1 digit | 2 digits | 3 digits | 4 digits | test loss | train s | load at start |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...results.map((r) => `| ${r.visualAttention} | ${r.clutter} | ${pct(r.exactMatch)} | ${r.bleu.toFixed(2)} | ${[1, 2, 3, 4].map((n) => pct(r.byDigits[n].exactMatch)).join(' | ')} | ${r.testLoss.toFixed(3)} | ${r.trainSeconds.toFixed(0)} | ${r.loadAtStart.toFixed(2)} |`),
    '',
    'By digit count: exact match of the scenes with that many digits. Hard attention: REINFORCE with a moving-average baseline and entropy bonus, arg-max location at test time.',
    '',
  ];
  return out.join('\n');
}

/** Per test scene: each generated word's attention row (α over the grid), from a forward pass over the greedy caption. */
function attentionFigure(model, config, list, outputs, visualAttention) {
  const { rows, cols } = featureGrid(config);
  return list.map((scene, i) => {
    const ids = tokenizer.encode(outputs[i]);
    const T = ids.length + 1;
    const target = { ids: Int32Array.from([config.bosTokenId, ...ids]), batchSize: 1, seqLen: T };
    const alphas = tf.tidy(() => model.forward(imageBatch(scene.pixels, 1, config), target, { returnAttention: true }).attention.cross[0].arraySync()[0][0]);
    return { visualAttention, caption: scene.caption, output: outputs[i], words: [...outputs[i].split(' '), '</s>'].slice(0, T), pixels: scene.pixels, alphas, rows, cols };
  });
}

/** A location's weight spread over its window's pixels (windows overlap: the sum at each pixel). */
function upsample(alpha, rows, cols) {
  const k = 8, s = 4;
  const out = new Float32Array(shape.height * shape.width);
  for (let gy = 0; gy < rows; gy++) for (let gx = 0; gx < cols; gx++) {
    const w = alpha[gy * cols + gx];
    for (let y = 0; y < k; y++) for (let x = 0; x < k; x++) out[(gy * s + y) * shape.width + gx * s + x] += w;
  }
  return out;
}

function svg(groups) {
  const px = 3, gap = 10, panelW = shape.width * px, panelH = shape.height * px;
  const maxWords = Math.max(...groups.flat().map((e) => e.words.length)) + 1;
  const W = 20 + maxWords * (panelW + gap) + 80, rowH = panelH + 34;
  const entries = groups.flat();
  const H = 40 + entries.length * rowH + 30;
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`, `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="10" y="18" font-size="13">Each generated word's attention over the test scene (colour: α upsampled to the pixels, image in grey underneath; hard: the red box is the arg-max location)</text>`];
  entries.forEach((e, r) => {
    const y0 = 40 + r * rowH;
    parts.push(`<text x="10" y="${y0 + 10}">${e.visualAttention}: "${e.caption}" → "${e.output}"</text>`);
    // The image in grey, pixel by pixel (blank pixels left out); the attention over it in blocks
    // of stride × stride pixels, on which the upsampled weight is constant.
    const image = (x0, overlay) => {
      if (overlay) {
        const max = Math.max(...overlay);
        for (let y = 0; y < shape.height; y += 4) for (let x = 0; x < shape.width; x += 4) {
          parts.push(`<rect x="${x0 + x * px}" y="${y0 + 16 + y * px}" width="${4 * px}" height="${4 * px}" fill="${rgbHex(attentionColor(overlay[y * shape.width + x], max))}"/>`);
        }
      } else {
        parts.push(`<rect x="${x0}" y="${y0 + 16}" width="${panelW}" height="${panelH}" fill="white" stroke="#ccc"/>`);
      }
      for (let y = 0; y < shape.height; y++) for (let x = 0; x < shape.width; x++) {
        const v = e.pixels[y * shape.width + x];
        if (v > 0.05) parts.push(`<rect x="${x0 + x * px}" y="${y0 + 16 + y * px}" width="${px}" height="${px}" fill="black" fill-opacity="${(0.8 * v).toFixed(2)}"/>`);
      }
    };
    image(10);
    parts.push(`<text x="10" y="${y0 + 28 + panelH}">image</text>`);
    e.alphas.forEach((alpha, t) => {
      const x0 = 10 + (t + 1) * (panelW + gap);
      image(x0, upsample(alpha, e.rows, e.cols));
      if (e.visualAttention === 'hard') {
        const best = alpha.indexOf(Math.max(...alpha));
        const gx = best % e.cols, gy = Math.floor(best / e.cols);
        parts.push(`<rect x="${x0 + gx * 4 * px}" y="${y0 + 16 + gy * 4 * px}" width="${8 * px}" height="${8 * px}" fill="none" stroke="red" stroke-width="1.5"/>`);
      }
      parts.push(`<text x="${x0}" y="${y0 + 28 + panelH}">${e.words[t] ?? ''} (max α ${Math.max(...alpha).toFixed(2)})</text>`);
    });
  });
  const stops = attentionLegendStops(1, 5);
  const ly = H - 22;
  parts.push(`<text x="10" y="${ly + 10}">legend (weight / the panel's largest):</text>`);
  stops.forEach((s, i) => {
    parts.push(`<rect x="${230 + i * 50}" y="${ly}" width="14" height="12" fill="${rgbHex(s.color)}" stroke="#999"/>`, `<text x="${248 + i * 50}" y="${ly + 10}">${s.weight.toFixed(2)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
