// Where to look (issue 17): the plain canvas classifier (a) as an MLP and as a small CNN, the
// spatial transformer network (b) with the CNN as its classifier (its localisation network an MLP,
// and a CNN), the recurrent attention model
// (c, glimpses trained by REINFORCE), and the vision Transformer (d) on 32×32 canvases of one 8×8 digit (../shared/data
// digits8x8.csv) placed at random — plain translated, and cluttered with fragments of other
// digits — at one equal training budget (the same steps, batch size and learning-rate
// schedule: every model sees the same canvases). Test canvases are drawn from digit rows the
// training canvases never use. Reports held-out accuracy, parameters, forward FLOPs per image,
// ms per image on onnxruntime-node (1 thread, batch 1) and the training time.
//
// Writes bench/results/where-to-look.{md,json} at the repo root (a "## Findings" section written by
// hand at the end of the .md is kept) and the figures: where-to-look.svg, the test accuracy of
// every model, translated and cluttered side by side (chance marked), and
// where-to-look-where-<data>.svg, what each model looked at on the same few test canvases (the
// STN's sampling grid and the image it read, the RAM's glimpses, the ViT's attention rollout,
// the plain classifier's canvas), each panel titled with the model, the true and the predicted
// class. All are written after each data set, with the results so far.
//
// Usage: node packages/cli/bench/where-to-look.mjs [--steps 800] [--batch 64] [--clutter 4] [--seed 7]
//   [--data translated|cluttered] [--models 'canvas MLP,ViT'] [--lr 3e-3] [--out where-to-look] [--digit 8] [--fragment 4]
//   [--test 1000] [--canvases 4] [--dir bench/results] [--figures]
// --data runs one of the two data sets (two processes can then share the cores), --models the
// models whose names contain one of the comma-separated parts, and --out names its files; --combine A,B (no training) writes the --out files from results/A.json and B.json.
// --figures (no training) redraws the accuracy chart <out>.svg from <out>.json. --dir puts the
// files in another folder than bench/results; --canvases the test canvases drawn (default 4).
// --clutter 4 puts 4 fragments of 4 × 4 (64 pixels, the area of one 8 × 8 digit) on each
// canvas; Mnih et al.'s cluttered MNIST has 4 of 8 × 8 around a 28 × 28 digit (a third of its area).
// --digit 16 --fragment 5 puts the digit (scaled bilinearly) and fragments at Mnih's proportions
// (the digit half the canvas side, fragments about 0.3 of the digit's); --fragment defaults to half the digit.

import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { clutteredDigits, createModelConfig, DIGIT_SIZE, createRng, flopsPerToken, imagePositions, readCsvClassification, trainDevSplit } from '@attend/core';
import * as transformer from '@attend/transformer';
import { exportCheckpointFiles } from '@attend/runtime-onnx';
import { createOnnxModel } from '@attend/runtime-onnx/node';
import { figureSheetSvg } from '../dist/figure-sheet.js';
import { writeFileAtomic } from '../dist/files.js';
import { accuracyChartSvg, whereFigures } from '../dist/where-figures.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const dataPath = resolve(repoRoot, '../shared/data/digits8x8.csv');
const args = process.argv.slice(2);
const flag = (name, fallback) => (args.includes(`--${name}`) ? Number(args[args.indexOf(`--${name}`) + 1]) : fallback);
const steps = flag('steps', 800);
const batchSize = flag('batch', 64);
const clutter = flag('clutter', 4);
const digitSize = flag('digit', DIGIT_SIZE);
const fragmentSize = flag('fragment', Math.max(1, Math.floor(digitSize / 2)));
const seed = flag('seed', 7);
const testCount = flag('test', 1000);
const text = (name, fallback) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : fallback);
const onlyData = text('data', undefined);
const onlyModels = text('models', undefined)?.split(',');
const learningRate = flag('lr', 3e-3);
const outName = text('out', 'where-to-look');
const combine = text('combine', undefined);
const figuresOnly = args.includes('--figures');
const whereCount = flag('canvases', 4);
const line = (s = '') => process.stdout.write(`${s}\n`);
const dirArg = text('dir', undefined);
if (args.includes('--dir') && (dirArg === undefined || dirArg.startsWith('--'))) {
  line('bench:where: --dir needs a folder');
  process.exit(2);
}
if (!(Number.isInteger(whereCount) && whereCount >= 0)) {
  line(`bench:where: --canvases must be a whole number >= 0, got ${text('canvases')}`);
  process.exit(2);
}
const dir = dirArg === undefined ? join(repoRoot, 'bench/results') : resolve(dirArg);
const { classify, createModel, imageTrainBatch, serializeCheckpoint, setupBackend, StnModel, train } = transformer;

/** `setup`'s digit and fragment sides; results written before the bench had --digit used the 8 × 8 digit and 4 × 4 fragments. */
function sizes(setup) {
  return { digit: setup.digitSize ?? DIGIT_SIZE, fragment: setup.fragmentSize ?? DIGIT_SIZE / 2 };
}

/** The results table of `setup` (one run's settings; `loadAverage` one list per process) and its rows. */
function markdown(setup, results) {
  const { digit, fragment } = sizes(setup);
  const loads = setup.loadAverage.map((l) => l.map((x) => x.toFixed(2)).join(' ')).join('; ');
  return [
    `# Where to look: canvas MLP and CNN, spatial transformer (CNN classifier), recurrent attention model, ViT on ${setup.canvas}×${setup.canvas} digit canvases${digit === DIGIT_SIZE ? '' : ` (${digit}×${digit} digits)`}`,
    '',
    `\`npm run bench:where\` (${setup.date}; tfjs ${setup.backend}, ${setup.cpus} cores, load average ${loads}). One ${digit}×${digit} digit per canvas at a random position; "cluttered": ${setup.clutter} fragments (${fragment}×${fragment}) of other digits too. Every model: ${setup.steps} steps × ${setup.batchSize} canvases (the same ones), Adam, lr ${setup.learningRate}, seed ${setup.seed}. Test: ${setup.testCanvases} canvases of the ${setup.testRows} digit rows held out from training. ms/image: onnxruntime-node, 1 thread, batch 1, median of 300.`,
    '',
    '| data | model | test accuracy | final train loss | parameters | MFLOPs / image | ms / image (ORT) | training s |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...results.map((r) => `| ${r.data} | ${r.model} | ${(100 * r.accuracy).toFixed(1)}% | ${r.finalTrainLoss.toFixed(3)} | ${r.parameters.toLocaleString('en-US')} | ${(r.flopsPerImage / 1e6).toFixed(2)} | ${r.onnxMsPerImage.toFixed(3)} | ${r.trainSeconds.toFixed(0)} |`),
    '',
    ...results.filter((r) => r.stnMeanScale !== undefined).map((r) => `${r.model} on ${r.data}: mean scale of θ's linear part on test canvases ${r.stnMeanScale.toFixed(2)} (1 = the identity, the whole canvas; < 1 = zoomed in).`),
    ...results.filter((r) => r.finalReward !== undefined).map((r) => `${r.model} on ${r.data}: mean REINFORCE reward (accuracy at the sampled locations) over the last 50 training steps ${r.finalReward.toFixed(2)}; its training loss adds the policy and baseline terms to the cross-entropy.`),
    '',
  ].join('\n');
}

/** The hand-written "## Findings" section (to the end) of the markdown at `path`, kept when the file is rewritten; '' when none. */
async function findings(path) {
  const old = existsSync(path) ? await readFile(path, 'utf8') : '';
  const at = old.search(/^## Findings/m);
  return at < 0 ? '' : `\n${old.slice(at)}`;
}

/** Writes {dir}/{name}.svg: the test accuracy of every model in `results`, the data sets side by side, chance (1 / classes of `models`) marked. */
async function writeChart(name, setup, models, results) {
  const { digit } = sizes(setup);
  const title = `Where to look: test accuracy on ${setup.canvas}×${setup.canvas} canvases${digit === DIGIT_SIZE ? '' : ` of ${digit}×${digit} digits`} (${setup.steps} steps × ${setup.batchSize}, ${setup.testCanvases} test canvases)`;
  const path = join(dir, `${name}.svg`);
  await writeFileAtomic(path, await accuracyChartSvg(results, title, 1 / (models[0]?.numClasses ?? 10)));
  return path;
}

/** Writes {dir}/{name}.json, .md (keeping the .md's Findings section) and .svg (the accuracy chart). */
async function writeResults(name, setup, models, results) {
  await writeFileAtomic(join(dir, `${name}.json`), `${JSON.stringify({ ...setup, models, results }, null, 2)}\n`);
  const path = join(dir, `${name}.md`);
  await writeFileAtomic(path, `${markdown(setup, results)}\n${await findings(path)}`);
  await writeChart(name, setup, models, results);
  line(`wrote ${join(dir, `${name}.md`)}, .json and .svg`);
}

if (figuresOnly) {
  const path = join(dir, `${outName}.json`);
  if (!existsSync(path)) {
    line(`bench:where --figures: ${path} not found (run the bench, or pass --out NAME of an existing results file)`);
    process.exit(1);
  }
  const { results, models, ...setup } = JSON.parse(await readFile(path, 'utf8'));
  if (!Array.isArray(results) || !Array.isArray(models)) {
    line(`bench:where --figures: ${path} has no 'results' and 'models' lists`);
    process.exit(1);
  }
  line(`wrote ${await writeChart(outName, setup, models, results)}`);
  process.exit(0);
}
if (combine) {
  const parts = await Promise.all(combine.split(',').map(async (name) => JSON.parse(await readFile(join(dir, `${name}.json`), 'utf8'))));
  const { results: _, models: __, ...setup } = parts[0];
  const models = [...new Set(parts.flatMap((p) => p.models.map((m) => JSON.stringify(m))))].map((m) => JSON.parse(m));
  await writeResults(outName, { ...setup, date: parts.map((p) => p.date).join(', '), loadAverage: parts.flatMap((p) => p.loadAverage) }, models, parts.flatMap((p) => p.results));
  process.exit(0);
}
if (!existsSync(dataPath)) {
  line(`bench:where: ${dataPath} not found (the digits live in ../shared/data next to the repository)`);
  process.exit(1);
}

const SIZE = 32;
const common = { numClasses: 10, imageSize: SIZE, numChannels: 1, pixelScale: 1, dropout: 0 };
const MODELS = [
  { name: '(a) canvas MLP', config: { preset: 'canvas-classifier', ...common, maxSeqLen: 1, dModel: 128, numHiddenLayers: 2, convChannels: [] } },
  { name: '(a) canvas CNN', config: { preset: 'canvas-classifier', ...common, maxSeqLen: 1, dModel: 128, numHiddenLayers: 1, convChannels: [16, 32] } },
  { name: '(b) stn-classifier', config: { preset: 'stn-classifier', ...common, maxSeqLen: 1, dModel: 128, numHiddenLayers: 1, convChannels: [16, 32], outputSize: 16, locHiddenSize: 32 } },
  // The same STN with a CNN localisation network (two blocks on the canvas) in place of its MLP one.
  { name: '(b) STN, CNN localisation', config: { preset: 'stn-classifier', ...common, maxSeqLen: 1, dModel: 128, numHiddenLayers: 1, convChannels: [16, 32], outputSize: 16, locHiddenSize: 32, locConvChannels: [8, 16] } },
  // The first STN with Jaderberg et al.'s 3-parameter attention transform: θ only zooms and shifts.
  { name: '(b) STN, attention θ', config: { preset: 'stn-classifier', ...common, maxSeqLen: 1, dModel: 128, numHiddenLayers: 1, convChannels: [16, 32], outputSize: 16, locHiddenSize: 32, stnTransform: 'attention' } },
  // Mnih et al.'s recurrent attention model: 6 glimpses of 3 scales of 8 × 8 (the coarsest sees the whole canvas), as bench:ram.
  { name: '(c) glimpse-classifier', config: { preset: 'glimpse-classifier', ...common, maxSeqLen: 6, dModel: 128, numGlimpses: 6, numScales: 3, glimpsePatch: 8, locationStd: 0.15 } },
  { name: '(d) vit-classifier', config: { preset: 'vit-classifier', ...common, patchSize: 8, maxSeqLen: 17, dModel: 32, numHeads: 4, numEncoderLayers: 2, dFf: 64 } },
].filter((m) => onlyModels === undefined || onlyModels.some((part) => m.name.includes(part)));
const DATASETS = [
  { name: 'translated', clutter: 0 },
  { name: 'cluttered', clutter },
].filter((d) => onlyData === undefined || d.name === onlyData);
if (DATASETS.length === 0) {
  line(`bench:where: --data ${onlyData} is not a data set; use translated or cluttered`);
  process.exit(2);
}

const digits = await readCsvClassification(dataPath);
const { train: trainDigits, dev: testDigits } = trainDevSplit(digits, { devFraction: 0.2, seed });
const backend = await setupBackend();
const load = loadavg();
line(`where to look: ${SIZE}×${SIZE} canvases of ${digitSize}×${digitSize} digits (clutter fragments ${fragmentSize}×${fragmentSize}) (${trainDigits.length} train rows, ${testDigits.length} test rows); ${steps} steps × ${batchSize}; tfjs ${backend.name}, ${cpus().length} cores, load average ${load.map((x) => x.toFixed(2)).join(' ')}`);

/**
 * Forward FLOPs of one image: the ViT's per-token modules times its tokens (patch embedding per
 * patch, classifier once); the glimpse model's per-glimpse count (its classifier already spread
 * over the glimpses) times its glimpses.
 */
function imageFlops(config) {
  const T = imagePositions(config);
  if ('numGlimpses' in config) return flopsPerToken(config).total * T;
  return flopsPerToken(config, { contextLength: T }).modules.reduce((sum, m) => sum + m.flops * (m.module === 'classifier' || T === 1 ? 1 : m.module.startsWith('embeddings') ? T - 1 : T), 0);
}

/** Median ms of one image through onnxruntime-node (1 thread). */
async function onnxMs(model) {
  const session = await createOnnxModel(exportCheckpointFiles(serializeCheckpoint({ model })), { numThreads: 1 });
  try {
    const rng = createRng(3);
    const image = Float32Array.from({ length: SIZE * SIZE }, () => rng.next());
    for (let i = 0; i < 20; i++) await session.runImages(image, 1);
    const times = [];
    for (let i = 0; i < 300; i++) {
      const t = performance.now();
      await session.runImages(image, 1);
      times.push(performance.now() - t);
    }
    return times.sort((a, b) => a - b)[times.length >> 1];
  } finally {
    await session.release();
  }
}

/** `count` distinct indices below `n`, drawn with `seed` (core's shuffle). */
function pickIndices(count, n, seed) {
  return createRng(seed).shuffle(Array.from({ length: n }, (_, i) => i)).slice(0, count);
}

const setup = { date: new Date().toISOString(), backend: backend.name, cpus: cpus().length, loadAverage: [load], seed, steps, batchSize, learningRate: `${learningRate} cosine (30 warm-up steps) to ${+(learningRate / 10).toPrecision(6)}`, canvas: SIZE, clutter, digitSize, fragmentSize, trainRows: trainDigits.length, testRows: testDigits.length, testCanvases: testCount };
const results = [];
for (const data of DATASETS) {
  const options = { size: SIZE, clutter: data.clutter, digitSize, fragmentSize };
  const trainSet = clutteredDigits(trainDigits, { ...options, count: steps * batchSize, seed });
  const testSet = clutteredDigits(testDigits, { ...options, count: testCount, seed: seed + 1 });
  const pixelsOf = (set) => {
    const out = new Float32Array(set.length * SIZE * SIZE);
    set.forEach((c, i) => out.set(c.pixels, i * SIZE * SIZE));
    return out;
  };
  // The test canvases every model of this data set is drawn on.
  const shown = pickIndices(whereCount, testSet.length, seed + 2).map((i) => testSet[i]);
  const where = [];
  for (const spec of MODELS) {
    const config = createModelConfig(spec.config);
    const model = createModel(config, { seed });
    const started = performance.now();
    const { state } = await train(model, (step) => {
      if (step === steps - 49) model.takeReward?.(); // the glimpse model's reward: the mean over the last 50 steps
      const rows = trainSet.slice(((step - 1) % steps) * batchSize, ((step - 1) % steps + 1) * batchSize);
      return imageTrainBatch(pixelsOf(rows), Int32Array.from(rows, (c) => c.label), config);
    }, { steps, learningRate, schedule: { kind: 'cosine', warmupSteps: 30, totalSteps: steps, minLr: learningRate / 10 }, logEvery: 10 });
    const trainSeconds = (performance.now() - started) / 1000;
    const reward = model.takeReward?.();
    let correct = 0;
    for (let at = 0; at < testSet.length; at += 250) {
      const rows = testSet.slice(at, at + 250);
      const predicted = await classify(model, imageTrainBatch(pixelsOf(rows), new Int32Array(rows.length), config).input);
      rows.forEach((c, i) => (correct += predicted[i].label === c.label ? 1 : 0));
    }
    const accuracy = correct / testSet.length;
    let meanZoom;
    if (model instanceof StnModel) {
      // How far θ moved from the identity: the mean scale |det A|^½ of its linear part on the test canvases.
      const rows = testSet.slice(0, 250);
      const { theta, output } = model.transform(imageTrainBatch(pixelsOf(rows), new Int32Array(rows.length), config).input);
      const t = theta.dataSync();
      let sum = 0;
      for (let b = 0; b < rows.length; b++) sum += Math.sqrt(Math.abs(t[6 * b] * t[6 * b + 4] - t[6 * b + 1] * t[6 * b + 3]));
      meanZoom = sum / rows.length;
      theta.dispose();
      output.dispose();
    }
    const ms = await onnxMs(model);
    const last = state.losses.slice(-5); // the last 50 steps
    const finalLoss = last.reduce((s, h) => s + h.loss, 0) / Math.max(1, last.length);
    const row = { data: data.name, clutter: data.clutter, model: spec.name, preset: config.preset, accuracy, parameters: model.parameterCount(), flopsPerImage: imageFlops(config), onnxMsPerImage: ms, trainSeconds, finalTrainLoss: finalLoss, ...(meanZoom !== undefined ? { stnMeanScale: meanZoom } : {}), ...(reward !== undefined ? { finalReward: reward } : {}) };
    results.push(row);
    line(`${data.name.padEnd(10)} ${spec.name.padEnd(22)} accuracy ${(100 * accuracy).toFixed(1).padStart(5)}%  loss ${finalLoss.toFixed(3)}  ${row.parameters.toLocaleString('en-US')} params  ${(row.flopsPerImage / 1e6).toFixed(2)} MFLOPs  ${ms.toFixed(3)} ms/image  trained in ${trainSeconds.toFixed(0)} s${meanZoom !== undefined ? `  θ scale ${meanZoom.toFixed(2)}` : ''}${reward !== undefined ? `  reward ${reward.toFixed(2)}` : ''}`);
    if (shown.length > 0) where.push(await whereFigures(transformer, model, spec.name, shown));
    model.dispose();
  }
  await writeResults(outName, setup, MODELS.map((m) => m.config), results);
  if (where.length > 0) {
    const path = join(dir, `${outName}-where-${data.name}.svg`);
    const title = `What each model looked at: ${shown.length} ${data.name} test canvases (seed ${seed + 2}) after ${steps} steps × ${batchSize}`;
    await writeFileAtomic(path, figureSheetSvg(title, where));
    line(`wrote ${path}`);
  }
}
