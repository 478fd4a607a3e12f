// The vision Transformer (vit-classifier) on the 8×8 handwritten digits of ../shared/data
// (1,797 images): fixed-seed split, 300 held-out test images, training for a number of steps,
// held-out accuracy, and attention over the image for a few test digits: the last layer's CLS
// attention and attention rollout over the 4×4 patch grid.
//
// Writes bench/results/digits.json and digits-attention.svg at the repo root (NAME.* with --out).
//
// Usage: node packages/transformer/bench/digits.mjs [--steps 600] [--seed 7] [--out digits]

import * as tf from '@tensorflow/tfjs-core';
import { existsSync, mkdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { flag, repoRoot, strFlag, writeAtomic } from './common.mjs';
import { attentionRollout, clsAttentionGrid, createModelConfig, createRng, readCsvClassification, trainDevSplit } from '@attend/core';
import { createModel, imageTrainBatch, setupBackend, train } from '../dist/index.js';

const dataPath = resolve(repoRoot, '../shared/data/digits8x8.csv');
const steps = flag('steps', 600);
const seed = flag('seed', 7);
const name = strFlag('out', 'digits');
const line = (s = '') => process.stdout.write(`${s}\n`);
if (!existsSync(dataPath)) {
  line(`bench:digits: ${dataPath} not found (the digits live in ../shared/data next to the repository)`);
  process.exit(1);
}
if (name.includes('/')) {
  line(`bench:digits: --out takes a file name prefix, got '${name}'`);
  process.exit(2);
}

const rows = await readCsvClassification(dataPath);
const { train: trainRows, dev: testRows } = trainDevSplit(rows, { devFraction: 300 / rows.length, seed });
const images = (rs) => Float32Array.from(rs.flatMap((r) => r.features.map((x) => x / 16)));
const config = createModelConfig({ preset: 'vit-classifier', numClasses: 10, dModel: 32, numHeads: 4, numEncoderLayers: 2, dFf: 64, dropout: 0.1 });
const backend = await setupBackend();
const model = createModel(config, { seed });
line(`digits8x8: ${rows.length} images, train ${trainRows.length}, test ${testRows.length} (seed ${seed}); vit-classifier ${model.parameterCount().toLocaleString('en-US')} parameters, 2×2 patches; tfjs ${backend.name}, ${cpus().length} cores`);

const rng = createRng(seed);
const batchSize = 64;
const started = performance.now();
await train(model, () => {
  const pick = Array.from({ length: batchSize }, () => trainRows[rng.int(trainRows.length)]);
  return imageTrainBatch(images(pick), Int32Array.from(pick, (r) => r.label), config);
}, { steps, learningRate: 3e-3, schedule: { kind: 'cosine', warmupSteps: 30, totalSteps: steps, minLr: 3e-4 } });
const trainSeconds = (performance.now() - started) / 1000;

const input = imageTrainBatch(images(testRows), Int32Array.from(testRows, (r) => r.label), config).input;
const { predictions, maps } = tf.tidy(() => {
  const r = model.forward(input, undefined, { returnAttention: true });
  return { predictions: Array.from(r.logits.argMax(-1).dataSync()), maps: r.attention.encoder.map((m) => m.arraySync()) };
});
const accuracy = testRows.filter((r, i) => predictions[i] === r.label).length / testRows.length;
line(`${steps} steps in ${trainSeconds.toFixed(0)} s; held-out accuracy ${(100 * accuracy).toFixed(1)}% (${testRows.length} images)`);

const examples = [0, 1, 2, 3, 4, 5].map((i) => {
  const layers = maps.map((layer) => layer[i]); // [L][H][T][T]
  const last = layers[layers.length - 1];
  const meanLast = last[0].map((row, q) => row.map((_, k) => last.reduce((s, h) => s + h[q][k], 0) / last.length));
  return { label: testRows[i].label, prediction: predictions[i], pixels: testRows[i].features, clsAttention: clsAttentionGrid(meanLast), rollout: clsAttentionGrid(attentionRollout(layers)) };
});

const dir = join(repoRoot, 'bench/results');
mkdirSync(dir, { recursive: true });
writeAtomic(join(dir, `${name}.json`), `${JSON.stringify({ date: new Date().toISOString(), backend: backend.name, cpus: cpus().length, seed, steps, batchSize, trainSeconds, train: trainRows.length, test: testRows.length, accuracy, config, parameters: model.parameterCount(), examples }, null, 2)}\n`);
writeAtomic(join(dir, `${name}-attention.svg`), svg(examples));
line(`wrote ${join(dir, `${name}.json`)} and ${name}-attention.svg`);
model.dispose();

/** Per test digit: the image, the last layer's CLS attention and the rollout over the patch grid. */
function svg(list) {
  const px = 12, gap = 16, colW = 3 * (8 * px + gap) + 20, top = 50;
  const W = list.length * colW + 20, H = top + 8 * px + 40;
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`, `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="10" y="16" font-size="13">vit-classifier on 8×8 digits (held-out accuracy ${(100 * accuracy).toFixed(1)}%): image · last-layer CLS attention · attention rollout (dark = high)</text>`];
  list.forEach((e, k) => {
    const x0 = 10 + k * colW;
    parts.push(`<text x="${x0}" y="${top - 8}">label ${e.label}, predicted ${e.prediction}</text>`);
    const gray = (v) => Math.round(255 * (1 - Math.min(1, Math.max(0, v))));
    for (let r = 0; r < 8; r++) for (let c = 0; c < 8; c++) {
      const v = gray(e.pixels[r * 8 + c] / 16);
      parts.push(`<rect x="${x0 + c * px}" y="${top + r * px}" width="${px}" height="${px}" fill="rgb(${v},${v},${v})"/>`);
    }
    [e.clsAttention, e.rollout].forEach((grid, m) => {
      const max = Math.max(...grid.flat());
      const G = grid.length, cell = (8 * px) / G, ox = x0 + (m + 1) * (8 * px + gap);
      grid.forEach((row, r) => row.forEach((w, c) => {
        const v = gray(w / max);
        parts.push(`<rect x="${ox + c * cell}" y="${top + r * cell}" width="${cell}" height="${cell}" fill="rgb(${v},${v},${v})" stroke="#ddd"/>`);
      }));
    });
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
