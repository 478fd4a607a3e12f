#!/usr/bin/env node
// Training-speed benchmark (issue 3): the wasm backend's own 512×512 MatMul GFLOP/s, then
// training tokens/s and achieved model GFLOP/s of nanoGPT's CPU "baby GPT" (decoder-lm,
// 4 layers, 4 heads, dModel 128, context 64, batch 12, dropout 0) on character-level
// Shakespeare, on wasm and cpu, plus the date model's step time and peak RSS. All figures come
// from one process, so ratios between them hold on a shared machine.
// Writes bench/results/train-<timestamp>.json at the repo root. Run after building:
//   pnpm bench:train [--wasm-steps N] [--cpu-steps N] [--date-steps N] [--workers-steps N] [--rounds N] [--only wasm|date|cpu|workers] [--dist DIR]
// `workers`: the baby GPT on 1 and 2 data-parallel worker threads side by side, interleaved over
// --rounds rounds of --workers-steps steps each, with the load average (the machine may be shared).
// FLOPs per token: 6·P (forward + backward through every weight, P = parameters without the
// embedding lookups' gather, i.e. all matrices incl. the tied output layer) + attention
// 12·L·T·dModel (q·kᵀ and weights·v, forward and backward, causal mask not discounted).

import * as tf from '@tensorflow/tfjs-core';
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { args, flag, here, matMulGflops, repoRoot, shakespearePath } from './common.mjs';
import { CharTokenizer, createModelConfig, createRng, dateTask, trainDevSplit } from '@attend/core';

const dataPath = shakespearePath;
const distArg = args.includes('--dist') ? resolve(args[args.indexOf('--dist') + 1], 'index.js') : join(here, '../dist/index.js');
// --dist DIR benchmarks another build of the package (e.g. the previous commit's) for comparison.
const { setupBackend, TransformerModel, train, seq2seqTask } = await import(distArg);
const opts = {
  wasmSteps: flag('wasm-steps', 100),
  cpuSteps: flag('cpu-steps', 4),
  dateSteps: flag('date-steps', 40),
  warmup: flag('warmup', 3),
  workersSteps: flag('workers-steps', 30),
  rounds: flag('rounds', 2),
  only: args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined,
};

let peakRss = process.memoryUsage().rss;
const sampleRss = () => { peakRss = Math.max(peakRss, process.memoryUsage().rss); };
const rssTimer = setInterval(sampleRss, 200);

const text = readFileSync(dataPath, 'utf8');
const split = Math.floor(text.length * 0.9);
const tokenizer = CharTokenizer.fromCorpus([text]);
const trainIds = Int32Array.from(tokenizer.encode(text.slice(0, split)));

const baby = { numLayers: 4, numHeads: 4, dModel: 128, context: 64, batch: 12 };
function babyConfig() {
  return createModelConfig({
    preset: 'decoder-lm', vocabSize: tokenizer.vocabSize, dModel: baby.dModel, numHeads: baby.numHeads,
    numDecoderLayers: baby.numLayers, dFf: 4 * baby.dModel, maxSeqLen: baby.context, dropout: 0,
  });
}
function lmBatch(step) {
  const rng = createRng(step);
  const { batch: B, context: T } = baby;
  const ids = new Int32Array(B * T);
  const labels = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    const start = Math.floor(rng.next() * (trainIds.length - T - 1));
    ids.set(trainIds.subarray(start, start + T), b * T);
    labels.set(trainIds.subarray(start + 1, start + T + 1), b * T);
  }
  return { input: { ids, batchSize: B, seqLen: T }, labels };
}

/** Trains `steps` steps; returns ms per step after `warmup` steps. */
async function timeSteps(model, nextBatch, steps, warmup, lr, workers = 1) {
  const stamps = [];
  const cpu = [];
  const rss = [];
  let lastLoss = NaN;
  const tensors = [];
  await train(model, nextBatch, {
    steps, learningRate: lr, logEvery: 1, workers,
    onProgress: (e) => { if (e.type === 'step') { stamps.push(performance.now()); cpu.push(process.cpuUsage()); rss.push(process.memoryUsage().rss); tensors.push(tf.memory().numTensors); lastLoss = e.loss; sampleRss(); } },
  });
  const timed = stamps.length - warmup;
  // Memory growth: RSS after warmup vs at the end, and live tensors gained over the timed steps.
  const growth = { rssAfterWarmupMiB: rss[warmup - 1] / 2 ** 20, rssAtEndMiB: rss[rss.length - 1] / 2 ** 20, tensorsGained: tensors[tensors.length - 1] - tensors[warmup - 1] };
  // CPU time of the whole process (worker threads included): on a shared machine it shows what
  // the work costs where wall-clock time shows what the machine gave.
  const cpuMs = (u) => (u.user + u.system) / 1000;
  return { msPerStep: (stamps[stamps.length - 1] - stamps[warmup - 1]) / timed, cpuMsPerStep: (cpuMs(cpu[cpu.length - 1]) - cpuMs(cpu[warmup - 1])) / timed, lastLoss, timedSteps: timed, growth };
}

async function babyGpt(backend, steps) {
  await setupBackend([backend]);
  const matmul = matMulGflops(tf);
  const config = babyConfig();
  const model = new TransformerModel(config, { seed: 1 });
  const params = model.parameterCount();
  const { numLayers: L, dModel: d, context: T, batch: B } = baby;
  // Matrices only: the embedding table counts once, as the tied output layer's matrix.
  const flopsPerToken = 6 * params + 12 * L * T * d;
  const r = await timeSteps(model, lmBatch, steps, Math.min(opts.warmup, steps - 2), 1e-3);
  model.dispose();
  const tokensPerSecond = (B * T * 1000) / r.msPerStep;
  const gflops = (tokensPerSecond * flopsPerToken) / 1e9;
  return { backend, matmul512Gflops: matmul.gflops, params, flopsPerToken, steps: r.timedSteps, msPerStep: r.msPerStep, tokensPerSecond, modelGflops: gflops, fractionOfMatMul: gflops / matmul.gflops, lastLoss: r.lastLoss, memory: r.growth };
}

/** Baby-GPT tokens/s on 1 and 2 worker threads, alternating, `rounds` times each (wasm). */
async function workerScaling(steps, rounds) {
  await setupBackend(['wasm']);
  const { context: T, batch: B } = baby;
  const runs = [];
  for (let round = 0; round < rounds; round++) {
    for (const workers of [1, 2]) {
      const load = loadavg()[0];
      const model = new TransformerModel(babyConfig(), { seed: 1 });
      const r = await timeSteps(model, lmBatch, steps, Math.min(opts.warmup, steps - 2), 1e-3, workers);
      model.dispose();
      runs.push({ round, workers, msPerStep: r.msPerStep, cpuMsPerStep: r.cpuMsPerStep, tokensPerSecond: (B * T * 1000) / r.msPerStep, loadAverage1m: load, lastLoss: r.lastLoss });
      line(`workers ${workers} (round ${round + 1}): ${runs.at(-1).tokensPerSecond.toFixed(0)} tokens/s, ${r.msPerStep.toFixed(1)} ms/step, ${r.cpuMsPerStep.toFixed(1)} CPU ms/step, load average ${load.toFixed(2)}`);
    }
  }
  const mean = (w, field = 'tokensPerSecond') => { const xs = runs.filter((r) => r.workers === w).map((r) => r[field]); return xs.reduce((a, b) => a + b, 0) / xs.length; };
  return { runs, tokensPerSecond1: mean(1), tokensPerSecond2: mean(2), ratio: mean(2) / mean(1), cpuMsPerStep1: mean(1, 'cpuMsPerStep'), cpuMsPerStep2: mean(2, 'cpuMsPerStep') };
}

async function dateModel(steps) {
  await setupBackend(['wasm']);
  const pairs = dateTask({ count: 3000, seed: 1 });
  const { train: trainPairs, dev } = trainDevSplit(pairs, { devFraction: 0.1, seed: 1, key: (p) => p.source });
  const tok = CharTokenizer.fromCorpus(pairs.flatMap((p) => [p.source, p.target]));
  const config = createModelConfig({ preset: 'encoder-decoder', vocabSize: tok.vocabSize, dModel: 64, numHeads: 4, numEncoderLayers: 1, numDecoderLayers: 1, dFf: 256, maxSeqLen: 48, dropout: 0 });
  const task = seq2seqTask(trainPairs, dev, tok, { batchSize: 64, seed: 1, maxSrcLen: 40, maxTgtLen: 12 });
  const model = new TransformerModel(config, { seed: 1 });
  const r = await timeSteps(model, task.nextBatch, steps, opts.warmup, 3e-3);
  model.dispose();
  return { msPerStep: r.msPerStep, steps: r.timedSteps, lastLoss: r.lastLoss, memory: r.growth };
}

const out = { date: new Date().toISOString(), cpuModel: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version, tfjs: tf.version_core, flopsFormula: '6·params + 12·layers·T·dModel per token' };
const line = (s) => process.stdout.write(s + '\n');
if (!opts.only || opts.only === 'wasm') {
  out.wasm = await babyGpt('wasm', opts.wasmSteps);
  line(`wasm: MatMul 512² ${out.wasm.matmul512Gflops.toFixed(1)} GFLOP/s | baby-GPT ${out.wasm.msPerStep.toFixed(1)} ms/step, ${out.wasm.tokensPerSecond.toFixed(0)} tokens/s, ${out.wasm.modelGflops.toFixed(2)} GFLOP/s (${(100 * out.wasm.fractionOfMatMul).toFixed(1)}% of MatMul), loss ${out.wasm.lastLoss.toFixed(3)}`);
}
if ((!opts.only || opts.only === 'workers') && !(opts.rounds > 0)) {
  line(`workers: skipped (--rounds ${opts.rounds}: no rounds to time)`);
} else if (!opts.only || opts.only === 'workers') {
  out.workers = await workerScaling(opts.workersSteps, opts.rounds);
  line(`wasm: baby-GPT 1 worker ${out.workers.tokensPerSecond1.toFixed(0)} tokens/s | 2 workers ${out.workers.tokensPerSecond2.toFixed(0)} tokens/s | ratio ${out.workers.ratio.toFixed(2)}× (target ≥ 1.7×; ${cpus().length} cores, load average now ${loadavg().map((x) => x.toFixed(2)).join(' ')}); CPU ms/step ${out.workers.cpuMsPerStep1.toFixed(0)} vs ${out.workers.cpuMsPerStep2.toFixed(0)}`);
}
if (!opts.only || opts.only === 'date') {
  out.dateModel = await dateModel(opts.dateSteps);
  line(`wasm: date model ${out.dateModel.msPerStep.toFixed(1)} ms/step`);
}
if ((!opts.only || opts.only === 'cpu') && opts.cpuSteps > 0) {
  out.cpu = await babyGpt('cpu', opts.cpuSteps + 1);
  line(`cpu:  MatMul 512² ${out.cpu.matmul512Gflops.toFixed(1)} GFLOP/s | baby-GPT ${out.cpu.msPerStep.toFixed(1)} ms/step, ${out.cpu.tokensPerSecond.toFixed(0)} tokens/s, ${out.cpu.modelGflops.toFixed(2)} GFLOP/s (${(100 * out.cpu.fractionOfMatMul).toFixed(1)}% of MatMul)`);
}
clearInterval(rssTimer);
sampleRss();
out.peakRssMiB = peakRss / 2 ** 20;
line(`peak RSS ${out.peakRssMiB.toFixed(0)} MiB`);
const dir = join(repoRoot, 'bench/results');
mkdirSync(dir, { recursive: true });
const file = join(dir, `train-${out.date.replace(/[:.]/g, '-')}.json`);
writeFileSync(file, JSON.stringify(out, null, 2) + '\n');
line(`wrote ${file}`);
