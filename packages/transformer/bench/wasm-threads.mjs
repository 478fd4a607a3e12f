#!/usr/bin/env node
// Experiment (issue 18 §1): tfjs's multi-threaded wasm build (tfjs-backend-wasm-threaded-simd,
// XNNPACK on a pthreads pool) in Node, against the single-threaded SIMD build the toolkit uses.
// tfjs does not load it in Node by itself, for three reasons, each worked around here by patching
// globals in this process only (nothing in the package does this):
//   1. WASM_HAS_MULTITHREAD_SUPPORT is false whenever IS_NODE: set it to true;
//   2. the pthread workers' script and the module script are Blobs turned into blob: URLs, which
//      Node's Worker refuses (ERR_WORKER_PATH): Blob and URL.createObjectURL are patched to write
//      them to temporary .cjs files (the module script with the bundle's require$$N / commonjsGlobal
//      names it closes over defined first), and the workers are given the file's path;
//   3. the C++ side caps the thread pool at emscripten_num_logical_cores() / 2, i.e. os.cpus() / 2:
//      1 on a 2-core machine; os.cpus() is made to list every core twice.
// Each variant runs in its own child process; the rounds alternate their order, so the ratio holds
// on a shared machine. Per child: the 512² MatMul rate and a baby-GPT training step (random tokens).
//   node packages/transformer/bench/wasm-threads.mjs [--rounds 3] [--threads 2] [--steps 8]

import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { args, flag, here, matMulGflops, repoRoot, strFlag, writeAtomic } from './common.mjs';

const require = createRequire(import.meta.url);
const threads = flag('threads', 2);
const steps = flag('steps', 8);

/** Makes tfjs-backend-wasm pick and load its threaded-SIMD build in Node (see the header). */
function loadThreadedBuild() {
  const wasm = require('@tensorflow/tfjs-backend-wasm'); // registers the flag
  require('@tensorflow/tfjs-core').env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  const os = require('node:os');
  const cpus = os.cpus;
  os.cpus = () => [...cpus(), ...cpus()];
  const dir = mkdtempSync(join(tmpdir(), 'attend-wasm-threads-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const mainScript = join(dir, 'module.cjs');
  const texts = new WeakMap();
  const NativeBlob = globalThis.Blob;
  globalThis.Blob = class extends NativeBlob {
    constructor(parts, options) {
      super(parts, options);
      const text = parts.join('');
      texts.set(this, text);
      // The module script reaches the workers as a Blob; they are told its file instead (below).
      if (text.startsWith('var WasmBackendModuleThreadedSimd')) {
        writeFileSync(mainScript, `var commonjsGlobal=globalThis,require$$0=require('fs'),require$$1=require('path'),require$$3=require('perf_hooks'),require$$4=require('os');\n${text}`);
      }
    }
  };
  const createObjectURL = URL.createObjectURL;
  URL.createObjectURL = (blob) => {
    const text = texts.get(blob);
    if (text === undefined) return createObjectURL(blob);
    const worker = join(dir, `worker-${Math.random().toString(36).slice(2)}.cjs`);
    writeFileSync(worker, `URL.createObjectURL=()=>${JSON.stringify(mainScript)};URL.revokeObjectURL=()=>{};\n${text}`);
    return worker;
  };
  wasm.setThreadsCount(threads);
}

/** One variant's figures, in this process. */
async function child(variant) {
  if (variant === 'threaded') loadThreadedBuild();
  const tf = require('@tensorflow/tfjs-core');
  const { setupBackend, TransformerModel, train } = await import(join(here, '../dist/index.js'));
  const { createModelConfig, createRng } = await import('@attend/core');
  await setupBackend(['wasm']);
  const wasm = require('@tensorflow/tfjs-backend-wasm');
  const check = tf.tidy(() => Array.from(tf.matMul(tf.randomNormal([64, 96], 0, 1, 'float32', 1), tf.randomNormal([96, 32], 0, 1, 'float32', 2)).dataSync()));
  const matmul = matMulGflops(tf, 512, 30);
  const [B, T, V] = [12, 64, 65];
  const config = createModelConfig({ preset: 'decoder-lm', vocabSize: V, dModel: 128, numHeads: 4, numDecoderLayers: 4, dFf: 512, maxSeqLen: T, dropout: 0 });
  const batch = (step) => {
    const rng = createRng(step);
    const ids = Int32Array.from({ length: B * T }, () => rng.int(V));
    return { input: { ids, batchSize: B, seqLen: T }, labels: Int32Array.from(ids, (x) => (x + 1) % V) };
  };
  const model = new TransformerModel(config, { seed: 1 });
  const stamps = [];
  const losses = [];
  await train(model, batch, { steps: steps + 2, learningRate: 1e-3, logEvery: 1, onProgress: (e) => e.type === 'step' && (stamps.push(performance.now()), losses.push(e.loss)) });
  model.dispose();
  const msPerStep = (stamps.at(-1) - stamps[1]) / steps;
  return { variant, threads: wasm.getThreadsCount(), matmul512Gflops: matmul.gflops, msPerStep, tokensPerSecond: (B * T * 1000) / msPerStep, losses, check };
}

if (args[0] === '--child') {
  console.log(JSON.stringify(await child(args[1])));
  process.exit(0); // the pthread workers would keep the process alive
}

const rounds = flag('rounds', 3);
const started = { time: new Date().toISOString(), loadAverage: loadavg() };
const runs = [];
const self = fileURLToPath(import.meta.url);
for (let round = 0; round < rounds; round++) {
  for (const variant of round % 2 === 0 ? ['single', 'threaded'] : ['threaded', 'single']) {
    const out = execFileSync(process.execPath, [self, '--child', variant, '--threads', String(threads), '--steps', String(steps)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    const r = { round, loadAverage1m: loadavg()[0], ...JSON.parse(out.trim().split('\n').at(-1)) };
    runs.push(r);
    console.log(`round ${round + 1} ${variant.padEnd(8)} threads ${r.threads}: MatMul 512² ${r.matmul512Gflops.toFixed(1)} GFLOP/s, baby GPT ${r.msPerStep.toFixed(0)} ms/step (${r.tokensPerSecond.toFixed(0)} tokens/s), load ${r.loadAverage1m.toFixed(1)}`);
  }
}
const mean = (variant, field) => { const xs = runs.filter((r) => r.variant === variant).map((r) => r[field]); return xs.reduce((a, b) => a + b, 0) / xs.length; };
const single = runs.find((r) => r.variant === 'single');
const threaded = runs.find((r) => r.variant === 'threaded');
const summary = {
  matmulRatio: mean('threaded', 'matmul512Gflops') / mean('single', 'matmul512Gflops'),
  tokensPerSecondRatio: mean('threaded', 'tokensPerSecond') / mean('single', 'tokensPerSecond'),
  sameMatMul: single.check.every((x, i) => x === threaded.check[i]),
  maxLossDifference: Math.max(...single.losses.map((x, i) => Math.abs(x - threaded.losses[i]))),
};
console.log(`threaded / single: MatMul ${summary.matmulRatio.toFixed(2)}×, baby GPT tokens/s ${summary.tokensPerSecondRatio.toFixed(2)}×; same 64×96·96×32 product: ${summary.sameMatMul}; largest loss difference ${summary.maxLossDifference.toExponential(2)}`);
const outDir = join(repoRoot, 'bench/results');
mkdirSync(outDir, { recursive: true });
const file = join(outDir, strFlag('out', 'wasm-threads') + '.json');
writeAtomic(file, JSON.stringify({ started, ended: { time: new Date().toISOString(), loadAverage: loadavg() }, threads, steps, runs: runs.map(({ check, ...r }) => r), summary }, null, 2) + '\n');
console.log(`wrote ${file}`);
