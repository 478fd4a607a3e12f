#!/usr/bin/env node
// Shakespeare quality benchmark (issue 3): trains nanoGPT's CPU "baby GPT" (decoder-lm, 4 layers,
// 4 heads, dModel 128, dFf 512, context 64, batch 12, dropout 0, learned positions, tied
// embeddings, GPT-2-style unscaled embeddings at std 0.02 — `scaleEmbedding: false`) on character-level tiny Shakespeare with attend's own trainer on the wasm backend,
// with nanoGPT's optimiser settings (AdamW lr 1e-3, 100 warmup steps, cosine decay to 1e-4 at
// 2000 steps, beta2 0.99, weight decay 0.1, grad clip 1). Every `--eval-every` steps it measures
// the mean cross-entropy (nats/char, no label smoothing) on a fixed set of random val batches
// (and of train batches), and records the wall-clock time (from the start of training) at which
// val loss first reaches ≤ 1.88 — nanoGPT's reference.
// Writes bench/results/shakespeare.json and bench/results/shakespeare-loss.svg at the repo root.
// Run after building:
//   pnpm bench:shakespeare [--steps 2000] [--eval-every 250] [--eval-batches 40] [--stop-at-target]
//                          [--embedding gpt2|scaled] [--init glorot|gpt2] [--positional learned|sinusoidal]
//                          [--workers N]  (data-parallel worker threads; default 1)
//                          [--out NAME]   (NAME.json / NAME-loss.svg instead of shakespeare*)

import * as tf from '@tensorflow/tfjs-core';
import { existsSync, readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { args, flag, repoRoot, shakespearePath, strFlag } from './common.mjs';
import { CharTokenizer, createModelConfig, createRng, sampleLmBatch, splitText } from '@attend/core';
import { setupBackend, TransformerModel, train, batchLoss, lmTrainBatch } from '../dist/index.js';

const dataPath = shakespearePath;
const line = (s) => process.stdout.write(s + '\n');

const TARGET = 1.88;
const run = {
  steps: flag('steps', 2000),
  evalEvery: flag('eval-every', 250),
  evalBatches: flag('eval-batches', 40),
  stopAtTarget: args.includes('--stop-at-target'),
  seed: flag('seed', 1337),
  // 'gpt2': token + position tables at std 0.02 and no √dModel factor (nanoGPT); 'scaled': ×√dModel.
  embedding: strFlag('embedding', 'gpt2'),
  // Linear kernels: 'glorot' or 'gpt2' (N(0, 0.02²), residual projections / √(2·layers)).
  init: strFlag('init', 'glorot'),
  // Data-parallel worker threads (1: the main thread trains alone).
  workers: flag('workers', 1),
  // Position table: 'learned' (nanoGPT's, std 0.02) or 'sinusoidal' (attend train's default).
  positional: strFlag('positional', 'learned'),
};
const baby = { numLayers: 4, numHeads: 4, dModel: 128, dFf: 512, context: 64, batch: 12 };
const optim = { learningRate: 1e-3, minLr: 1e-4, warmupSteps: 100, beta1: 0.9, beta2: 0.99, weightDecay: 0.1, clipNorm: 1 };

if (!existsSync(dataPath)) {
  process.stderr.write(
    `bench:shakespeare: data file not found: ${dataPath}\n` +
      `Put nanoGPT's tiny Shakespeare (input.txt, ~1.1 MB) there, e.g.\n` +
      `  curl -L -o ${dataPath} https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt\n`,
  );
  process.exit(1);
}

const text = readFileSync(dataPath, 'utf8');
const tokenizer = CharTokenizer.fromCorpus([text]);
const { train: trainText, val: valText } = splitText(text, 0.9);
const trainIds = Int32Array.from(tokenizer.encode(trainText));
const valIds = Int32Array.from(tokenizer.encode(valText));

const backend = await setupBackend(['wasm']);
const config = createModelConfig({
  preset: 'decoder-lm', vocabSize: tokenizer.vocabSize, dModel: baby.dModel, numHeads: baby.numHeads,
  numDecoderLayers: baby.numLayers, dFf: baby.dFf, maxSeqLen: baby.context, dropout: 0, positional: run.positional,
  scaleEmbedding: run.embedding === 'scaled',
});
const model = new TransformerModel(config, { seed: run.seed, init: run.init });

// Training batches: a pure function of the step (seeded rng per step), like nanoGPT's get_batch.
const nextBatch = (step) =>
  lmTrainBatch(sampleLmBatch(trainIds, { batchSize: baby.batch, contextLength: baby.context, rng: createRng(run.seed * 100003 + step) }));
// Fixed evaluation batches, the same at every evaluation.
const fixedBatches = (ids, seed) => {
  const rng = createRng(seed);
  return Array.from({ length: run.evalBatches }, () => lmTrainBatch(sampleLmBatch(ids, { batchSize: baby.batch, contextLength: baby.context, rng })));
};
const valBatches = fixedBatches(valIds, 1);
const trainEvalBatches = fixedBatches(trainIds, 2);
const meanLoss = (batches) => {
  let sum = 0;
  for (const b of batches) {
    const l = batchLoss(model, b, { training: false });
    sum += l.dataSync()[0];
    l.dispose();
  }
  return sum / batches.length;
};

line(`bench:shakespeare — backend ${backend.name ?? tf.getBackend()}, vocab ${tokenizer.vocabSize} (incl. 4 special tokens), ` +
  `${model.parameterCount()} params, train ${trainIds.length} / val ${valIds.length} chars, ${run.steps} steps, ${run.workers} worker(s), load average ${loadavg()[0].toFixed(2)}`);

let peakRss = process.memoryUsage().rss;
const sampleRss = () => { peakRss = Math.max(peakRss, process.memoryUsage().rss); };
const rssTimer = setInterval(sampleRss, 500);

const evals = [];
let evalMs = 0;
let timeTo188 = null;
let trainStart;
const evaluate = (_m, step) => {
  const e0 = performance.now();
  const valLoss = meanLoss(valBatches);
  const trainLoss = meanLoss(trainEvalBatches);
  const e1 = performance.now();
  evalMs += e1 - e0;
  const seconds = (e1 - trainStart) / 1000;
  const trainSeconds = (e0 - trainStart) / 1000 - (evalMs - (e1 - e0)) / 1000; // excluding all evaluation time
  evals.push({ iter: step, seconds, trainSeconds, trainLoss, valLoss });
  if (timeTo188 === null && valLoss <= TARGET) timeTo188 = { iter: step, seconds, trainSeconds };
  line(`step ${String(step).padStart(5)} | ${seconds.toFixed(1).padStart(7)} s | train ${trainLoss.toFixed(4)} | val ${valLoss.toFixed(4)}${valLoss <= TARGET ? '  (≤ 1.88)' : ''}`);
  return { valLoss, trainLoss };
};

const loadAtStart = loadavg();
trainStart = performance.now();
evaluate(model, 0);
const result = await train(model, nextBatch, {
  steps: run.steps,
  workers: run.workers,
  learningRate: optim.learningRate,
  schedule: { kind: 'cosine', warmupSteps: optim.warmupSteps, totalSteps: run.steps, minLr: optim.minLr },
  optimizer: { beta1: optim.beta1, beta2: optim.beta2, weightDecay: optim.weightDecay },
  clipNorm: optim.clipNorm,
  evalEvery: run.evalEvery,
  evaluate,
  earlyStopping: run.stopAtTarget ? { metric: 'valLoss', mode: 'min', target: TARGET } : undefined,
  logEvery: 50,
  onProgress: (e) => {
    if (e.type === 'step') {
      sampleRss();
      line(`  step ${String(e.step).padStart(5)} loss ${e.loss.toFixed(4)} lr ${e.lr.toExponential(2)} |g| ${e.gradNorm.toFixed(2)} ${e.tokensPerSecond.toFixed(0)} tok/s`);
    }
  },
});
const totalMs = performance.now() - trainStart;
clearInterval(rssTimer);
sampleRss();

const stepsDone = result.state.step;
const trainMs = totalMs - evalMs;
const tokensPerSecond = (stepsDone * baby.batch * baby.context * 1000) / trainMs;
const last = evals[evals.length - 1];
const out = {
  date: new Date().toISOString(),
  cpuModel: cpuModel(),
  cores: cpus().length,
  loadAverage: { start: loadAtStart, end: loadavg() },
  node: process.version,
  tfjs: tf.version_core,
  backend: tf.getBackend(),
  data: { path: '../shared/data/tinyshakespeare.txt', chars: text.length, trainChars: trainIds.length, valChars: valIds.length, split: 'first 90% train / last 10% val (core splitText)' },
  config: {
    model: { preset: 'decoder-lm', vocabSize: tokenizer.vocabSize, dModel: baby.dModel, numHeads: baby.numHeads, numDecoderLayers: baby.numLayers, dFf: baby.dFf, maxSeqLen: baby.context, dropout: 0, positional: run.positional, tieEmbeddings: config.tieEmbeddings, scaleEmbedding: config.scaleEmbedding, norm: config.norm, activation: config.activation, params: model.parameterCount() },
    training: { steps: run.steps, workers: run.workers, batchSize: baby.batch, context: baby.context, ...optim, schedule: 'linear warmup then cosine decay to minLr at steps', seed: run.seed, init: run.init, stopAtTarget: run.stopAtTarget },
    eval: { every: run.evalEvery, batches: run.evalBatches, metric: 'mean cross-entropy, nats/char, no label smoothing, training=false; fixed random batches (val and train)' },
  },
  target: TARGET,
  evals,
  timeTo188,
  stopReason: result.reason,
  stepsDone,
  finalValLoss: last.valLoss,
  finalTrainLoss: last.trainLoss,
  bestValLoss: Math.min(...evals.map((e) => e.valLoss)),
  wallSeconds: totalMs / 1000,
  evalSeconds: evalMs / 1000,
  tokensPerSecond,
  tokensPerSecondNote: 'training tokens (batch·context·steps) per second of wall-clock excluding evaluation time',
  peakRssMiB: peakRss / 2 ** 20,
};
model.dispose();

const name = strFlag('out', 'shakespeare');
const dir = join(repoRoot, 'bench/results');
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, `${name}.json`), JSON.stringify(out, null, 2) + '\n');
writeFileSync(join(dir, `${name}-loss.svg`), lossSvg(out));
line(`final val ${out.finalValLoss.toFixed(4)} (best ${out.bestValLoss.toFixed(4)}) after ${stepsDone} steps, ${out.wallSeconds.toFixed(1)} s; ` +
  `time to ${TARGET}: ${timeTo188 ? `${timeTo188.seconds.toFixed(1)} s (step ${timeTo188.iter})` : 'not reached'}; ` +
  `${tokensPerSecond.toFixed(0)} tokens/s; peak RSS ${out.peakRssMiB.toFixed(0)} MiB`);
line(`wrote ${join(dir, `${name}.json`)} and ${name}-loss.svg`);

function cpuModel() {
  try {
    const m = readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.+)$/m);
    if (m) return m[1].trim();
  } catch { /* not Linux */ }
  return cpus()[0]?.model ?? 'unknown';
}

/** A hand-written SVG line plot of train and val loss against step, with the 1.88 target line. */
function lossSvg(r) {
  const W = 640, H = 400, L = 60, R = 20, T = 40, B = 50;
  const pw = W - L - R, ph = H - T - B;
  const xMax = Math.max(r.config.training.steps, ...r.evals.map((e) => e.iter));
  const ys = r.evals.flatMap((e) => [e.trainLoss, e.valLoss]).concat([TARGET]);
  const yMin = Math.floor(Math.min(...ys) * 2) / 2;
  const yMax = Math.ceil(Math.max(...ys) * 2) / 2;
  const x = (v) => L + (v / xMax) * pw;
  const y = (v) => T + ph - ((v - yMin) / (yMax - yMin)) * ph;
  const f = (v) => v.toFixed(1);
  const poly = (key, color) =>
    `<polyline fill="none" stroke="${color}" stroke-width="2" points="${r.evals.map((e) => `${f(x(e.iter))},${f(y(e[key]))}`).join(' ')}"/>` +
    r.evals.map((e) => `<circle cx="${f(x(e.iter))}" cy="${f(y(e[key]))}" r="3" fill="${color}"/>`).join('');
  const parts = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  parts.push(`<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">attend baby GPT on tiny Shakespeare (wasm) — cross-entropy, nats/char</text>`);
  const xStep = xMax >= 1000 ? 250 : Math.max(1, Math.ceil(xMax / 8));
  for (let v = 0; v <= xMax; v += xStep) {
    parts.push(`<line x1="${f(x(v))}" y1="${T}" x2="${f(x(v))}" y2="${T + ph}" stroke="#eee"/>`);
    parts.push(`<text x="${f(x(v))}" y="${T + ph + 16}" text-anchor="middle">${v}</text>`);
  }
  for (let v = yMin; v <= yMax + 1e-9; v += 0.5) {
    parts.push(`<line x1="${L}" y1="${f(y(v))}" x2="${L + pw}" y2="${f(y(v))}" stroke="#eee"/>`);
    parts.push(`<text x="${L - 6}" y="${f(y(v) + 4)}" text-anchor="end">${v.toFixed(1)}</text>`);
  }
  parts.push(`<line x1="${L}" y1="${T + ph}" x2="${L + pw}" y2="${T + ph}" stroke="black"/>`);
  parts.push(`<line x1="${L}" y1="${T}" x2="${L}" y2="${T + ph}" stroke="black"/>`);
  parts.push(`<text x="${L + pw / 2}" y="${H - 12}" text-anchor="middle">training step (batch 12 × context 64)</text>`);
  parts.push(`<text x="16" y="${T + ph / 2}" text-anchor="middle" transform="rotate(-90 16 ${T + ph / 2})">loss (nats/char)</text>`);
  parts.push(`<line x1="${L}" y1="${f(y(TARGET))}" x2="${L + pw}" y2="${f(y(TARGET))}" stroke="#888" stroke-dasharray="5,4"/>`);
  parts.push(`<text x="${L + pw - 4}" y="${f(y(TARGET) - 5)}" text-anchor="end" fill="#555">nanoGPT val 1.88</text>`);
  parts.push(poly('trainLoss', '#1f77b4'));
  parts.push(poly('valLoss', '#d62728'));
  const lx = L + pw - 150, ly = T + 10;
  parts.push(`<rect x="${lx}" y="${ly}" width="140" height="${r.timeTo188 ? 64 : 48}" fill="white" stroke="#ccc"/>`);
  parts.push(`<line x1="${lx + 8}" y1="${ly + 14}" x2="${lx + 28}" y2="${ly + 14}" stroke="#1f77b4" stroke-width="2"/><text x="${lx + 34}" y="${ly + 18}">train loss</text>`);
  parts.push(`<line x1="${lx + 8}" y1="${ly + 32}" x2="${lx + 28}" y2="${ly + 32}" stroke="#d62728" stroke-width="2"/><text x="${lx + 34}" y="${ly + 36}">val loss (final ${r.finalValLoss.toFixed(3)})</text>`);
  if (r.timeTo188) parts.push(`<text x="${lx + 8}" y="${ly + 54}">≤1.88 at ${r.timeTo188.seconds.toFixed(0)} s (step ${r.timeTo188.iter})</text>`);
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
