#!/usr/bin/env node
// The recurrent attention model (glimpse-classifier, Mnih et al., 2014) at one fixed training
// budget on digits8x8 canvases of ../shared/data: plain translated digits and cluttered ones
// (clutteredDigits; train and test canvases from disjoint rows, fixed-seed split). For each:
// held-out accuracy (deterministic locations), the mean reward at the sampled locations over
// the last steps, parameters, forward FLOPs per image (core's count: per glimpse × glimpses)
// and ms per image on onnxruntime-node (the unrolled export, batch 1 and batch 64, medians).
//
// Writes bench/results/ram.json at the repo root (builds first):
//   node packages/runtime-onnx/bench/ram.mjs [--steps 300] [--size 32] [--clutter 4] [--seed 7] [--batch 32]

import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { clutteredDigits, createModelConfig, createRng, flopsPerToken, readCsvClassification, trainDevSplit } from '@attend/core';
import { createModel, imageTrainBatch, serializeCheckpoint, setupBackend, train } from '@attend/transformer';
import { createOnnxModel } from '../dist/node.js';
import { exportCheckpointFiles } from '../dist/export.js';

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const dataPath = resolve(repoRoot, '../shared/data/digits8x8.csv');
const steps = flag('steps', 300);
const size = flag('size', 32);
const clutter = flag('clutter', 4);
const seed = flag('seed', 7);
const batchSize = flag('batch', 32);
const line = (s = '') => process.stdout.write(`${s}\n`);

const rows = await readCsvClassification(dataPath).catch(() => {
  line(`bench:ram: ${dataPath} not found (the digits live in ../shared/data next to the repository)`);
  process.exit(1);
});
const { train: trainRows, dev: testRows } = trainDevSplit(rows, { devFraction: 300 / rows.length, seed });
const backend = await setupBackend();
// Three scales on 32 × 32 (the coarsest patch sees the whole canvas), two on smaller canvases.
const numScales = size >= 32 ? 3 : 2;
const numGlimpses = size >= 32 ? 6 : 4;
const config = createModelConfig({ preset: 'glimpse-classifier', numClasses: 10, imageSize: size, numScales, numGlimpses, maxSeqLen: numGlimpses, locationStd: 0.15 });
const flopsPerImage = flopsPerToken(config).total * numGlimpses;
line(`glimpse-classifier on ${size}×${size} digit canvases: ${numGlimpses} glimpses of ${numScales} scales of ${config.glimpsePatch}×${config.glimpsePatch}; ${steps} steps of ${batchSize}; tfjs ${backend.name}, ${cpus().length} cores`);

/** Median of `f`'s wall time in ms over `runs` calls, after two warm-up calls. */
async function medianMs(f, runs) {
  await f();
  await f();
  const times = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await f();
    times.push(performance.now() - start);
  }
  return times.sort((a, b) => a - b)[Math.floor(runs / 2)];
}

const results = [];
for (const [name, canvasClutter] of [['plain', 0], ['cluttered', clutter]]) {
  const canvas = { size, clutter: canvasClutter };
  const trainCanvases = clutteredDigits(trainRows, { count: 6000, seed: seed + 1, ...canvas });
  const testCanvases = clutteredDigits(testRows, { count: 500, seed: seed + 2, ...canvas });
  const pixelsOf = (cs) => Float32Array.from(cs.flatMap((c) => Array.from(c.pixels)));
  const batchOf = (cs) => imageTrainBatch(pixelsOf(cs), Int32Array.from(cs, (c) => c.label), config);
  const model = createModel(config, { seed });
  const rng = createRng(seed);
  const rewards = [];
  const started = performance.now();
  await train(model, () => batchOf(Array.from({ length: batchSize }, () => trainCanvases[rng.int(trainCanvases.length)])), {
    steps,
    learningRate: 3e-3,
    schedule: { kind: 'cosine', warmupSteps: 20, totalSteps: steps, minLr: 3e-4 },
    evalEvery: Math.max(1, Math.floor(steps / 4)),
    evaluate: () => ({ reward: model.takeReward() }),
    onProgress: (e) => e.type === 'eval' && rewards.push({ step: e.step, reward: e.metrics.reward }),
  });
  const trainSeconds = (performance.now() - started) / 1000;
  const test = batchOf(testCanvases);
  const predictions = tf.tidy(() => model.forward(test.input).logits.argMax(-1).dataSync());
  const accuracy = testCanvases.filter((c, i) => predictions[i] === c.label).length / testCanvases.length;
  const session = await createOnnxModel(exportCheckpointFiles(serializeCheckpoint({ model })), { numThreads: 1 });
  const one = pixelsOf(testCanvases.slice(0, 1));
  const many = pixelsOf(testCanvases.slice(0, 64));
  const batch1 = await medianMs(() => session.runImages(one, 1), 50);
  const batch64 = (await medianMs(() => session.runImages(many, 64), 10)) / 64;
  await session.release();
  const result = {
    canvas: name,
    clutter: canvasClutter,
    testAccuracy: accuracy,
    testImages: testCanvases.length,
    rewards,
    parameters: model.parameterCount(),
    flopsPerImage,
    msPerImage: { batch1, batch64 },
    trainSeconds,
  };
  model.dispose();
  results.push(result);
  line(`${name.padEnd(9)} test accuracy ${(100 * accuracy).toFixed(1)}% (${testCanvases.length} canvases); reward ${rewards.map((r) => r.reward.toFixed(2)).join(' → ')}; ` +
    `${result.parameters.toLocaleString('en-US')} parameters, ${(flopsPerImage / 1e6).toFixed(2)} MFLOPs/image; onnxruntime-node ${batch1.toFixed(3)} ms/image (batch 1), ${batch64.toFixed(3)} (batch 64); trained in ${trainSeconds.toFixed(0)} s`);
}

const out = join(repoRoot, 'bench/results/ram.json');
mkdirSync(dirname(out), { recursive: true });
const settings = { steps, batchSize, size, clutter, seed, numGlimpses, numScales, glimpsePatch: config.glimpsePatch, locationStd: config.locationStd, learningRate: 3e-3 };
writeFileSync(out, `${JSON.stringify({ settings, config, machine: { cores: cpus().length, loadavg: loadavg(), tfjsBackend: backend.name, onnxThreads: 1 }, results }, null, 2)}\n`);
line(`wrote ${out}`);
