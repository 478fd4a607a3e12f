#!/usr/bin/env node
// How training cost grows with the work (issue 18 §3): decoder-lm models of width d ∈ {64, 128,
// 256, 384}, layers ∈ {2, 4, 6} and context ∈ {64, 256}, trained on 1 and 2 data-parallel worker
// threads (tfjs wasm, batch 12 of random character-vocabulary tokens: the speed does not depend
// on the text). Per cell: tokens/s, model GFLOP/s (core's flopsPerToken, ×3 for forward +
// backward), its share of the backend's own 512² MatMul rate (measured in the same run, one
// thread), and peak RSS (the cell's own process, worker threads included). Each cell runs in a
// child process for at most --cell-seconds (default 60) of timed steps after one warm-up step.
// The load average is recorded with each cell: on a shared machine the figures are noisy.
// Writes bench/results/scale.{json,md,svg} at the repo root:
//   npm run bench:scale [-- --quick] [-- --cell-seconds 60]
// --quick: d ∈ {64, 128, 256}, 2 layers, context 64, workers 1 and 2. --replot: rewrites scale.md
// and scale.svg from scale.json, measuring nothing.

import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { args, flag, matMulGflops, repoRoot } from './common.mjs';

const VOCAB = 65; // tiny Shakespeare's characters
const BATCH = 12;

const resultsDir = join(repoRoot, 'bench/results');
if (args[0] === '--cell') await cell(JSON.parse(args[1]));
else if (args.includes('--replot')) await writeReport(JSON.parse(readFileSync(join(resultsDir, 'scale.json'), 'utf8')));
else await main();

/** One measurement, in this (child) process; prints its result as one JSON line. */
async function cell(c) {
  const tf = await import('@tensorflow/tfjs-core');
  const { createModelConfig, createRng, flopsPerToken } = await import('@attend/core');
  const { createModel, lmTrainBatch, setupBackend, train } = await import('../dist/index.js');
  await setupBackend(['wasm']);
  if (c.kind === 'matmul') {
    process.stdout.write(JSON.stringify({ matmul512Gflops: matMulGflops(tf).gflops }) + '\n');
    return;
  }
  const config = createModelConfig({ preset: 'decoder-lm', vocabSize: VOCAB, dModel: c.d, numHeads: c.d / 64 >= 2 ? c.d / 64 : 2, numDecoderLayers: c.layers, dFf: 4 * c.d, maxSeqLen: c.context, dropout: 0 });
  const model = createModel(config, { seed: 1 });
  const T = c.context;
  const nextBatch = (step) => {
    const rng = createRng(step);
    const ids = Int32Array.from({ length: BATCH * (T + 1) }, () => Math.floor(rng.next() * VOCAB));
    const inputIds = new Int32Array(BATCH * T);
    const labels = new Int32Array(BATCH * T);
    for (let b = 0; b < BATCH; b++) {
      inputIds.set(ids.subarray(b * (T + 1), b * (T + 1) + T), b * T);
      labels.set(ids.subarray(b * (T + 1) + 1, (b + 1) * (T + 1)), b * T);
    }
    return lmTrainBatch({ batchSize: BATCH, seqLen: T, inputIds, labels });
  };
  const controller = new AbortController();
  const stamps = [];
  await train(model, nextBatch, {
    steps: c.maxSteps, learningRate: 1e-3, logEvery: 1, workers: c.workers, signal: controller.signal,
    // The grid finds where the wasm heap really runs out: the trainer's estimate (an upper bound)
    // would refuse d 256 × 6 and d 384 × 4 at context 256 on one worker, which ran.
    memoryLimit: Infinity,
    onProgress: (e) => {
      if (e.type !== 'step') return;
      stamps.push(performance.now());
      // One warm-up step, then timed steps until the cell's time is up (at least 2).
      if (stamps.length >= 3 && stamps.at(-1) - stamps[0] >= c.seconds * 1000) controller.abort();
    },
  });
  const steps = stamps.length - 1;
  const msPerStep = (stamps.at(-1) - stamps[0]) / steps;
  const tokensPerSecond = (BATCH * T * 1000) / msPerStep;
  const trainFlopsPerToken = 3 * flopsPerToken(config, { contextLength: T }).total;
  process.stdout.write(JSON.stringify({
    parameters: model.parameterCount(), steps, msPerStep, tokensPerSecond,
    modelGflops: (tokensPerSecond * trainFlopsPerToken) / 1e9,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
  }) + '\n');
  model.dispose();
}

/** Runs `c` in a child process; its result, or its error's last line. */
function runCell(c) {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--cell', JSON.stringify(c)], { encoding: 'utf8', maxBuffer: 1 << 20 });
  const last = r.stdout.trim().split('\n').at(-1);
  if (r.status === 0 && last) return JSON.parse(last);
  // The error's own line (Node ends a crash's stderr with its version line, which says nothing).
  const lines = r.stderr.trim().split('\n');
  const error = lines.findLast((l) => /Error|Aborted/.test(l)) ?? lines.at(-1);
  return { error: (error || `exit ${r.status}`).slice(0, 300) };
}

async function main() {
  const quick = args.includes('--quick');
  const seconds = flag('cell-seconds', 60);
  const grid = quick
    ? { d: [64, 128, 256], layers: [2], context: [64], workers: [1, 2] }
    : { d: [64, 128, 256, 384], layers: [2, 4, 6], context: [64, 256], workers: [1, 2] };
  const line = (s) => process.stdout.write(s + '\n');
  const out = { date: new Date().toISOString(), quick, cellSeconds: seconds, batch: BATCH, vocab: VOCAB, cpuModel: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version, flops: '3 × core flopsPerToken (forward matrix products) per token', loadAverageStart: loadavg(), matmul: [], cells: [] };
  const matmul = () => {
    const m = runCell({ kind: 'matmul' });
    out.matmul.push({ ...m, loadAverage1m: loadavg()[0] });
    line(`MatMul 512²: ${m.matmul512Gflops?.toFixed(2) ?? m.error} GFLOP/s (load average ${loadavg()[0].toFixed(2)})`);
  };
  matmul();
  for (const context of grid.context) for (const layers of grid.layers) for (const d of grid.d) for (const workers of grid.workers) {
    const c = { d, layers, context, workers, seconds, maxSteps: 10_000 };
    const load = loadavg()[0];
    const r = runCell(c);
    out.cells.push({ d, layers, context, workers, loadAverage1m: load, ...r });
    line(r.error
      ? `d ${d} × ${layers} layers, ctx ${context}, ${workers} worker(s): ${r.error}`
      : `d ${d} × ${layers} layers, ctx ${context}, ${workers} worker(s): ${r.tokensPerSecond.toFixed(0)} tokens/s, ${r.modelGflops.toFixed(2)} GFLOP/s, peak RSS ${r.peakRssMiB.toFixed(0)} MiB (${r.steps} steps, load average ${load.toFixed(2)})`);
  }
  matmul();
  out.loadAverageEnd = loadavg();
  // The share of the MatMul rate: against the mean of the two MatMul measurements.
  const rate = matMulRate(out);
  for (const c of out.cells) if (c.modelGflops !== undefined) c.shareOfMatMul = c.modelGflops / rate;
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(join(resultsDir, 'scale.json'), JSON.stringify(out, null, 2) + '\n');
  await writeReport(out);
  line(`wrote ${join(resultsDir, 'scale.json')}, scale.md, scale.svg`);
}

function matMulRate(out) {
  const rates = out.matmul.map((m) => m.matmul512Gflops).filter(Number.isFinite);
  return rates.reduce((a, b) => a + b, 0) / rates.length;
}

/** scale.md and scale.svg from the results. */
async function writeReport(out) {
  writeFileSync(join(resultsDir, 'scale.md'), markdown(out, matMulRate(out)));
  // The CLI's plotting (Vega-Lite, as its loss.svg).
  const { scalingSvg } = await import('../../cli/dist/plots.js');
  const points = out.cells.filter((c) => c.tokensPerSecond !== undefined).map((c) => ({ parameters: c.parameters, tokensPerSecond: c.tokensPerSecond, peakRssMiB: c.peakRssMiB, series: `${c.layers} layers, ctx ${c.context}, ${c.workers} worker${c.workers > 1 ? 's' : ''}` }));
  writeFileSync(join(resultsDir, 'scale.svg'), await scalingSvg(`decoder-lm training on tfjs wasm, batch ${out.batch} (${out.cores} cores)`, points));
}

function markdown(out, rate) {
  const f = (x, digits) => (x === undefined ? '' : x.toFixed(digits));
  const rows = out.cells.map((c) => c.error
    ? `| ${c.d} | ${c.layers} | ${c.context} | ${c.workers} | | | | | | ${f(c.loadAverage1m, 1)} | ${c.error.replaceAll('|', '\\|')} |`
    : `| ${c.d} | ${c.layers} | ${c.context} | ${c.workers} | ${(c.parameters / 1e6).toFixed(2)} M | ${f(c.tokensPerSecond, 0)} | ${f(c.modelGflops, 2)} | ${f(100 * c.shareOfMatMul, 0)}% | ${f(c.peakRssMiB, 0)} | ${f(c.loadAverage1m, 1)} | ${c.steps} steps |`);
  return [
    `# Training cost against model size${out.quick ? ' (quick subset)' : ''}`,
    '',
    `\`npm run bench:scale${out.quick ? ' -- --quick' : ''}\` on ${out.date}: ${out.cpuModel}, ${out.cores} cores, Node ${out.node}; tfjs wasm; decoder-lm, batch ${out.batch}, vocabulary ${out.vocab}, dFf 4·d, heads d/64 (at least 2), dropout 0; each cell at most ${out.cellSeconds} s of timed steps after one warm-up step, in its own process.`,
    '',
    `The backend's own 512² MatMul: ${out.matmul.map((m) => `${f(m.matmul512Gflops, 2)} GFLOP/s (load average ${f(m.loadAverage1m, 1)})`).join(' before, ')} after the cells; the share column is model GFLOP/s over their mean, ${rate.toFixed(2)} GFLOP/s (one thread: 2 workers can pass 100%). Model FLOPs: ${out.flops}. Load average (1, 5, 15 min) at the start ${out.loadAverageStart.map((x) => x.toFixed(1)).join(', ')}, at the end ${out.loadAverageEnd.map((x) => x.toFixed(1)).join(', ')}: the machine was shared, so compare cells measured at similar load.`,
    '',
    '![tokens/s and peak RSS against parameters](scale.svg)',
    '',
    '| d | layers | context | workers | parameters | tokens/s | model GFLOP/s | share of MatMul | peak RSS MiB | load avg | note |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}
