#!/usr/bin/env node
// Inference benchmark (issue 4). One process, one model, one set of inputs:
//   - the machine's limit: ONNX Runtime's own 512×512 fp32 MatMul GFLOP/s (a one-MatMul graph
//     built with the graph builder), on onnxruntime-node (1 and 2 intra-op threads) and -web;
//   - batched forward of nanoGPT's CPU "baby GPT" (decoder-lm, 4 layers, 4 heads, dModel 128,
//     context 64, vocab 69, batch 12; random weights): tfjs (wasm backend, @attend/transformer)
//     vs onnxruntime-node (1 and 2 threads) vs onnxruntime-web (wasm, in Node, 1 thread), as
//     ms per batch and achieved GFLOP/s, and the int8-quantized model (quantize.ts) vs fp32;
//   - per-token decode latency (batch 1) of the same architecture with maxSeqLen 520 at positions
//     32, 128 and 512, with the copying KV-cache graph and with the in-place (shared-cache) graph
//     that generation runs (position-step.mjs), and without the cache (full forward over the
//     513-token prefix) at 512.
//   - the export folder's graph (onnx/model.onnx, the KV-cache graph, here with an empty past and
//     every output fetched, as transformers.js runs a prompt), standard and optimized (fused
//     com.microsoft operators, `optimize`), vs the plain forward graph of the same baby GPT with
//     context 256 and vs the graph torch.onnx.export makes of the same GPT with the same weights
//     (bench/torch-graph.py, run with Debian's /usr/bin/python3 and its python3-torch; skipped
//     with the reason when that fails), at batch 12 × 64 and 1 × 256, one thread: CPU ms per call
//     (process CPU time, which another process's load does not inflate as it does wall time),
//     the same graph fetching only the logits (what the present outputs cost to hand over), and
//     ONNX Runtime's own kernel time per call (its profiler; per-node medians, summed by op);
//   - fp32 vs the quantized MatMul schemes (int8 weights, int8-dynamic, int4; quantize.ts and
//     quantize-matmul.ts) on the baby GPT's batched forward: ms, file size, top-1 agreement with
//     fp32 and max |Δlogit|.
// Forward FLOPs per token: 2·params (every weight matrix once, incl. the tied output layer) +
// 4·layers·T·dModel (q·kᵀ and weights·v, causal mask not discounted); per-token decode at
// position p: 2·params + 4·layers·p·dModel.
// Contestants are timed in interleaved rounds (medians), so a shared machine's load hits them
// alike; the JSON records the load average and flags a busy machine.
// Prints a table and writes bench/results/infer.json at the repo root (builds first); with
// --export-graph-only, the export-graph part alone, to bench/results/infer-export-graph.json:
//   pnpm bench:infer [--quick] [--export-graph-only]

import * as tf from '@tensorflow/tfjs-core';
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createModelConfig, createRng } from '@attend/core';
import { serializeCheckpoint, setupBackend, TransformerModel } from '@attend/transformer';
import { createOnnxModel } from '../dist/node.js';
import { createOnnxModel as createWebModel } from '../dist/web.js';
import { exportCheckpointFiles } from '../dist/export.js';
import { GraphBuilder } from '../dist/onnx/graph.js';
import { encodeModel } from '../dist/onnx/proto.js';
import { quantizeModel } from '../dist/quantize.js';
import { quantizeMatMuls } from '../dist/quantize-matmul.js';
import { kernelTimes } from './kernel-times.mjs';
import { positionStep } from './position-step.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '../../..');
const quick = process.argv.includes('--quick');
const exportGraphOnly = process.argv.includes('--export-graph-only');
const budget = quick ? 0.3 : 1.5; // scales every timing window

const line = (s = '') => process.stdout.write(s + '\n');
const started = performance.now();

/** Median ms of `fn` after `warmup` calls, over at least `minReps` calls and `minMs` ms (capped at `maxReps`). */
async function time(fn, { warmup = 2, minReps = 5, minMs = 1500, maxReps = 400 } = {}) {
  for (let i = 0; i < warmup; i++) await fn();
  const samples = [];
  const t0 = performance.now();
  while (samples.length < maxReps && (samples.length < minReps || performance.now() - t0 < minMs * budget)) {
    const s = performance.now();
    await fn();
    samples.push(performance.now() - s);
  }
  const sorted = [...samples].sort((a, b) => a - b);
  return { ms: sorted[Math.floor(sorted.length / 2)], reps: samples.length, samples };
}

function cpuModel() {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) return m[1].trim();
  } catch {}
  return cpus()[0]?.model ?? 'unknown';
}

// ---- the machine's limit: ORT's own MatMul ---------------------------------------------------

function matMulModel(n) {
  const g = new GraphBuilder('matmul');
  const a = g.input('a', 'float32', [n, n]);
  const b = g.input('b', 'float32', [n, n]);
  g.output('y', g.matMul(a, b), 'float32', [n, n]);
  return encodeModel(g.toModel({ producerName: 'attend-bench', producerVersion: '0' }));
}

async function ortMatMul(ort, options, n = 512) {
  const session = await ort.InferenceSession.create(matMulModel(n), { logSeverityLevel: 3, ...options });
  const rng = createRng(5);
  const feeds = {
    a: new ort.Tensor('float32', Float32Array.from({ length: n * n }, () => rng.normal()), [n, n]),
    b: new ort.Tensor('float32', Float32Array.from({ length: n * n }, () => rng.normal()), [n, n]),
  };
  const { ms } = await time(() => session.run(feeds), { warmup: 3, minReps: 10, minMs: 1500 });
  await session.release();
  return { ms, gflops: (2 * n ** 3) / (ms * 1e6) };
}

// ---- models --------------------------------------------------------------------------------------

const baby = { vocabSize: 69, numLayers: 4, numHeads: 4, dModel: 128, context: 64, batch: 12 };
const decodeMaxLen = 520;
const positions = [32, 128, 512];

function makeModel(maxSeqLen) {
  const config = createModelConfig({
    preset: 'decoder-lm', vocabSize: baby.vocabSize, dModel: baby.dModel, numHeads: baby.numHeads,
    numDecoderLayers: baby.numLayers, dFf: 4 * baby.dModel, maxSeqLen, dropout: 0,
  });
  return new TransformerModel(config, { seed: 1 });
}

function randomIds(seed, n) {
  const rng = createRng(seed);
  return Int32Array.from({ length: n }, () => 1 + Math.floor(rng.next() * (baby.vocabSize - 1)));
}

// ---- run -----------------------------------------------------------------------------------------

const out = {
  date: new Date().toISOString(),
  cpuModel: cpuModel(),
  cores: cpus().length,
  loadAverageAtStart: loadavg(),
  node: process.version,
  onnxruntime: { node: ortNode.env.versions?.node ?? 'unknown', web: ortWeb.env.versions?.web ?? 'unknown' },
  tfjs: tf.version_core,
  model: { ...baby, dFf: 4 * baby.dModel, positional: 'sinusoidal', weights: 'random (seed 1)' },
  flopsFormula: 'forward: 2·params + 4·layers·T·dModel per token (T = keys attended)',
};

ortWeb.env.wasm.numThreads = 1;
const backend = await setupBackend(['wasm']);
out.tfjsBackend = backend.name;

line(`attend inference benchmark — ${out.cpuModel}, ${out.cores} cores, load ${out.loadAverageAtStart.map((x) => x.toFixed(2)).join(' ')}`);

// 1. MatMul limit.
out.matmul512 = {
  ortNode1: await ortMatMul(ortNode, { intraOpNumThreads: 1 }),
  ortNode2: await ortMatMul(ortNode, { intraOpNumThreads: 2 }),
  ortWeb: await ortMatMul(ortWeb, { executionProviders: ['wasm'] }),
};
line(`MatMul 512²: ORT-node 1T ${out.matmul512.ortNode1.gflops.toFixed(1)} GFLOP/s, 2T ${out.matmul512.ortNode2.gflops.toFixed(1)}, ORT-web ${out.matmul512.ortWeb.gflops.toFixed(1)}`);

// 1b. The export folder's graph (KV cache, empty past) vs the plain forward graph.

/** Process CPU ms (user + system): what a call costs this process, whatever else runs on the machine. */
function cpuMs() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Largest |a − b|. */
function maxAbsDiff(a, b) {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/**
 * The torch.onnx graph of checkpoint files `ckpt` (bench/torch-graph.py under /usr/bin/python3),
 * written through `workDir`: { bytes, info } or, when it cannot be made, { info: { skipped } }.
 */
function torchGraph(ckpt, workDir) {
  const dir = join(workDir, 'torch-ckpt');
  mkdirSync(dir);
  for (const [name, bytes] of Object.entries(ckpt)) writeFileSync(join(dir, name), bytes);
  const file = join(workDir, 'torch.onnx');
  const r = spawnSync('/usr/bin/python3', [join(here, 'torch-graph.py'), dir, file], { encoding: 'utf8' });
  if (r.status !== 0) return { info: { skipped: (r.error?.message ?? r.stderr.trim().split('\n').pop()) || `exit ${r.status}` } };
  return { bytes: readFileSync(file), info: JSON.parse(r.stdout.trim().split('\n').pop()) };
}

async function exportGraphComparison() {
  const config = createModelConfig({
    preset: 'decoder-lm', vocabSize: baby.vocabSize, dModel: baby.dModel, numHeads: baby.numHeads,
    numDecoderLayers: baby.numLayers, dFf: 4 * baby.dModel, maxSeqLen: 256, dropout: 0, positional: 'learned',
  });
  const m = new TransformerModel(config, { seed: 1 });
  const ckpt = serializeCheckpoint({ model: m });
  m.dispose();
  const graphs = { plain: exportCheckpointFiles(ckpt), cache: exportCheckpointFiles(ckpt, { kvCache: true }), optimized: exportCheckpointFiles(ckpt, { kvCache: true, optimize: true }) };
  const H = baby.numHeads;
  const D = baby.dModel / H;
  const profileDir = mkdtempSync(join(tmpdir(), 'attend-infer-profile-'));
  const result = { model: { ...baby, context: 256, positional: 'learned' }, shapes: {} };
  try {
    const torch = torchGraph(ckpt, profileDir);
    if (torch.bytes) graphs.torch = torch.bytes;
    result.torch = torch.info;
    for (const [b, t] of [[12, 64], [1, 256]]) {
      const ids = BigInt64Array.from(randomIds(21, b * t), BigInt);
      const plainFeeds = { input_ids: new ortNode.Tensor('int64', ids, [b, t]), attention_mask: new ortNode.Tensor('int64', new BigInt64Array(b * t).fill(1n), [b, t]) };
      const cacheFeeds = { ...plainFeeds, position_ids: new ortNode.Tensor('int64', BigInt64Array.from({ length: b * t }, (_, i) => BigInt(i % t)), [b, t]) };
      for (let i = 0; i < baby.numLayers; i++) {
        for (const part of ['key', 'value']) cacheFeeds[`past_key_values.${i}.${part}`] = new ortNode.Tensor('float32', new Float32Array(0), [b, H, 0, D]);
      }
      const contestants = [
        ['plain forward', graphs.plain, plainFeeds, undefined],
        ['export graph', graphs.cache, cacheFeeds, undefined],
        ['export graph, logits only', graphs.cache, cacheFeeds, ['logits']],
        ['optimized export graph', graphs.optimized, cacheFeeds, undefined],
        // ORT would fuse Add + LayerNormalization into SkipLayerNormalization itself (level 'all'); the builder keeps it from
        // doing so (transformer-graph.ts `sumNorm`), so this row, with that fusion turned off, should time as the one above.
        ['optimized, no SkipLayerNorm fusion', graphs.optimized, cacheFeeds, undefined, { extra: { optimization: { disable_specified_optimizers: 'SkipLayerNormFusion' } } }],
        ...(graphs.torch ? [['torch.onnx graph', graphs.torch, { input_ids: plainFeeds.input_ids }, undefined]] : []),
      ];
      const rows = {};
      const logits = {};
      for (const [name, bytes, feeds, fetches, options] of contestants) {
        const session = await ortNode.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1, logSeverityLevel: 3, ...options });
        for (let i = 0; i < 3; i++) logits[name] = (await session.run(feeds, fetches)).logits.data;
        rows[name] = { session, feeds, fetches, cpu: [], wall: [] };
      }
      // Every graph computes the same logits (the torch graph: the same weights copied over).
      const diffs = Object.fromEntries(Object.entries(logits).map(([name, l]) => [name, maxAbsDiff(l, logits['plain forward'])]));
      // Interleaved rounds: the contestants see the same machine.
      const reps = quick ? 15 : 60;
      for (let r = 0; r < reps; r++) {
        for (const row of Object.values(rows)) {
          const c = cpuMs();
          const w = performance.now();
          await row.session.run(row.feeds, row.fetches);
          row.wall.push(performance.now() - w);
          row.cpu.push(cpuMs() - c);
        }
      }
      const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
      const shape = { contestants: {} };
      for (const [name, row] of Object.entries(rows)) {
        shape.contestants[name] = { cpuMs: median(row.cpu), wallMs: median(row.wall), reps };
        await row.session.release();
      }
      // Kernel time: a profiled session per graph, all outputs fetched.
      for (const [name, bytes, feeds, fetches, options] of contestants) {
        if (fetches) continue;
        const prefix = join(profileDir, name.replace(/\W+/g, '-'));
        const session = await ortNode.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1, logSeverityLevel: 3, enableProfiling: true, profileFilePrefix: prefix, ...options });
        for (let i = 0; i < (quick ? 8 : 25); i++) await session.run(feeds);
        session.endProfiling();
        await session.release();
        const file = readdirSync(profileDir).filter((f) => f.startsWith(`${name.replace(/\W+/g, '-')}_`)).sort().pop();
        shape.contestants[name].kernel = kernelTimes(JSON.parse(readFileSync(join(profileDir, file), 'utf8')));
        rmSync(join(profileDir, file));
      }
      const c = shape.contestants;
      shape.maxAbsLogitDiffVsPlain = diffs;
      if (c['torch.onnx graph']) {
        shape.torchOverExportCpu = c['torch.onnx graph'].cpuMs / c['export graph'].cpuMs;
        shape.torchOverOptimizedCpu = c['torch.onnx graph'].cpuMs / c['optimized export graph'].cpuMs;
        shape.torchOverExportWall = c['torch.onnx graph'].wallMs / c['export graph'].wallMs;
        shape.torchOverOptimizedWall = c['torch.onnx graph'].wallMs / c['optimized export graph'].wallMs;
      }
      shape.exportOverOptimizedCpu = c['export graph'].cpuMs / c['optimized export graph'].cpuMs;
      shape.skipLayerNormFusionOffSpeedupCpu = c['optimized export graph'].cpuMs / c['optimized, no SkipLayerNorm fusion'].cpuMs;
      shape.exportOverPlainCpu = c['export graph'].cpuMs / c['plain forward'].cpuMs;
      if (process.env.KERNELS) for (const [n, k] of Object.entries(c)) if (k.kernel) line(`${n}: ${JSON.stringify(Object.fromEntries(Object.entries(k.kernel.byOp).map(([o, v]) => [o, +v.toFixed(2)])))}`);
      shape.exportOverPlainKernel = c['export graph'].kernel.ms / c['plain forward'].kernel.ms;
      shape.presentHandOverCpuMs = c['export graph'].cpuMs - c['export graph, logits only'].cpuMs;
      shape.presentBytes = 2 * baby.numLayers * b * H * t * D * 4;
      if (c['torch.onnx graph']) {
        // What bounds torch/export: the kernels every graph of this model runs (the MatMuls: the weights'
        // FLOPs; with them GELU, LayerNorm and Softmax) at torch's cost, and handing over the present
        // outputs, were everything else free. Kernel times are wall time (inflated on a loaded machine),
        // so their share of torch's kernel time is applied to its CPU ms.
        const share = (name, ops) => ops.reduce((sum, op) => sum + (c[name].kernel.byOp[op] ?? 0), 0) / c[name].kernel.ms;
        const matMuls = ['MatMul', 'FusedMatMul'];
        const essential = [...matMuls, 'BiasGelu', 'FastGelu', 'Gelu', 'LayerNormalization', 'SkipLayerNormalization', 'Softmax'];
        shape.matMulKernelShare = { export: share('export graph', matMuls), torch: share('torch.onnx graph', matMuls) };
        shape.essentialKernelShareTorch = share('torch.onnx graph', essential);
        const torchCpu = c['torch.onnx graph'].cpuMs;
        const ceiling = (fraction) => torchCpu / (torchCpu * fraction + Math.max(0, shape.presentHandOverCpuMs));
        shape.torchOverExportCeilingCpu = { matMulsOnly: ceiling(shape.matMulKernelShare.torch), essentialOps: ceiling(shape.essentialKernelShareTorch) };
      }
      result.shapes[`${b}x${t}`] = shape;
    }
  } finally {
    rmSync(profileDir, { recursive: true, force: true });
  }
  return result;
}

out.exportGraph = await exportGraphComparison();
const padEnd = (x, n) => String(x).padEnd(n);
const fixed = (x) => x.toFixed(2).padStart(9);
line();
line(`Export folder graph (KV cache, empty past; standard and optimized) vs plain forward vs torch.onnx, baby GPT context 256, 1 thread`);
if (out.exportGraph.torch.skipped) line(`(no torch.onnx graph: ${out.exportGraph.torch.skipped})`);
line(`${padEnd('shape', 8)}${padEnd('graph', 36)}${'CPU ms'.padStart(9)}${'wall ms'.padStart(9)}${'kernel ms'.padStart(11)}`);
for (const [shape, r] of Object.entries(out.exportGraph.shapes)) {
  for (const [name, c] of Object.entries(r.contestants)) {
    line(`${padEnd(shape, 8)}${padEnd(name, 36)}${fixed(c.cpuMs)}${fixed(c.wallMs)}${c.kernel ? fixed(c.kernel.ms).padStart(11) : '          -'}`);
  }
  line(`${padEnd('', 8)}export/plain: CPU ${r.exportOverPlainCpu.toFixed(2)}, kernels ${r.exportOverPlainKernel.toFixed(2)}; handing over the present outputs (${(r.presentBytes / 1e6).toFixed(1)} MB): ${r.presentHandOverCpuMs.toFixed(2)} ms CPU`);
  line(`${padEnd('', 8)}export/optimized: CPU ${r.exportOverOptimizedCpu.toFixed(2)}${r.torchOverExportCpu ? `; torch/export: CPU ${r.torchOverExportCpu.toFixed(2)}, wall ${r.torchOverExportWall.toFixed(2)}; torch/optimized: CPU ${r.torchOverOptimizedCpu.toFixed(2)}, wall ${r.torchOverOptimizedWall.toFixed(2)} (target ≥ 1.3)` : ''}`);
  line(`${padEnd('', 8)}optimized with / without ORT's SkipLayerNormalization fusion: CPU ${r.skipLayerNormFusionOffSpeedupCpu.toFixed(2)}`);
  if (r.matMulKernelShare) {
    line(`${padEnd('', 8)}bound: MatMul is ${(100 * r.matMulKernelShare.torch).toFixed(0)}% of torch's kernel time (${(100 * r.matMulKernelShare.export).toFixed(0)}% of the export graph's), MatMul + GELU + LayerNorm + Softmax ${(100 * r.essentialKernelShareTorch).toFixed(0)}%;`);
    line(`${padEnd('', 8)}with the present hand-over, torch/export ≤ ${r.torchOverExportCeilingCpu.matMulsOnly.toFixed(2)} were all but the MatMuls free, ≤ ${r.torchOverExportCeilingCpu.essentialOps.toFixed(2)} were all but those ops free`);
  }
  line(`${padEnd('', 8)}max |logit − plain forward's|: ${Object.entries(r.maxAbsLogitDiffVsPlain).filter(([n]) => n !== 'plain forward').map(([n, v]) => `${n} ${v.toExponential(1)}`).join(', ')}`);
}

if (exportGraphOnly) {
  // This part alone goes to its own file: infer.json keeps the sitting of its last full run.
  const file = join(repoRoot, 'bench/results/infer-export-graph.json');
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify({ date: out.date, cpuModel: out.cpuModel, cores: out.cores, loadAverageAtStart: out.loadAverageAtStart, loadAverageAtEnd: loadavg(), node: out.node, onnxruntime: out.onnxruntime, quick, exportGraph: out.exportGraph }, null, 2) + '\n');
  line(`wrote ${file}`);
  process.exit(0);
}

// 2. Batched forward.
const { batch: B, context: T, numLayers: L, dModel: d } = baby;
const model = makeModel(T);
const params = model.parameterCount();
const flopsPerToken = 2 * params + 4 * L * T * d;
const batchFlops = flopsPerToken * B * T;
const files = serializeCheckpoint({ model });
const fp32 = exportCheckpointFiles(files);
const int8 = quantizeModel(fp32);
const int8Dynamic = quantizeMatMuls(fp32, 'int8-dynamic');
const int4 = quantizeMatMuls(fp32, 'int4');
const optimized = exportCheckpointFiles(files, { optimize: true });
const ids = randomIds(11, B * T);
out.forward = {
  params, flopsPerToken, batchGflop: batchFlops / 1e9, onnxBytesFp32: fp32.length, onnxBytesInt8: int8.length,
  onnxBytesInt8Dynamic: int8Dynamic.length, onnxBytesInt4: int4.length, runs: {},
};

const forwardRow = (name, ms, extra = {}) => {
  const gflops = batchFlops / (ms * 1e6);
  out.forward.runs[name] = { msPerBatch: ms, tokensPerSecond: (B * T * 1000) / ms, gflops, ...extra };
};

// All contestants are timed in interleaved rounds, so that a load change on a shared machine
// hits them alike; each figure is the median over its rounds' samples.
const feeds = { inputIds: { data: ids, batchSize: B, seqLen: T } };
const input = { ids, batchSize: B, seqLen: T };
const contestants = [
  ['tfjs-wasm', async () => () => {
    const r = model.forward(input);
    r.logits.dataSync();
    tf.dispose(r);
  }, 1800],
  ['ort-node-1t fp32', () => createOnnxModel(fp32, { numThreads: 1 }), 700],
  ['ort-node-2t fp32', () => createOnnxModel(fp32, { numThreads: 2 }), 700],
  ['ort-web-wasm fp32', () => createWebModel(fp32, { numThreads: 1 }), 900],
  ['ort-node-1t int8', () => createOnnxModel(int8, { numThreads: 1 }), 700],
  ['ort-node-2t int8', () => createOnnxModel(int8, { numThreads: 2 }), 700],
  ['ort-web-wasm int8', () => createWebModel(int8, { numThreads: 1 }), 900],
  ['ort-node-1t int8-dynamic', () => createOnnxModel(int8Dynamic, { numThreads: 1 }), 700],
  ['ort-node-1t int4', () => createOnnxModel(int4, { numThreads: 1 }), 700],
  ['ort-node-1t optimized', () => createOnnxModel(optimized, { numThreads: 1 }), 700],
];
const timed = [];
const forwardLogits = {};
for (const [name, create, minMs] of contestants) {
  const made = await create();
  const run = typeof made === 'function' ? made : () => made.run(feeds);
  if (typeof made !== 'function') forwardLogits[name] = (await made.run(feeds)).logits.data;
  for (let i = 0; i < 2; i++) await run();
  timed.push({ name, run, minMs, samples: [], session: typeof made === 'function' ? undefined : made });
}
const ROUNDS = 3;
for (let round = 0; round < ROUNDS; round++) {
  for (const c of timed) c.samples.push(...(await time(c.run, { warmup: 1, minReps: 4, minMs: c.minMs })).samples);
}
for (const c of timed) {
  c.samples.sort((a, b) => a - b);
  forwardRow(c.name, c.samples[Math.floor(c.samples.length / 2)], { samples: c.samples.length });
  await c.session?.release();
}
model.dispose();
const runs = out.forward.runs;
// Quality of each quantized model against fp32 on the timed batch (random weights: small logit margins).
const reference = forwardLogits['ort-node-1t fp32'];
out.forward.quality = {};
for (const name of ['ort-node-1t int8', 'ort-node-1t int8-dynamic', 'ort-node-1t int4', 'ort-node-1t optimized']) {
  const l = forwardLogits[name];
  let same = 0;
  const V = baby.vocabSize;
  const argmax = (x, o) => {
    let best = 0;
    for (let i = 1; i < V; i++) if (x[o + i] > x[o + best]) best = i;
    return best;
  };
  for (let r = 0; r < l.length / V; r++) if (argmax(l, r * V) === argmax(reference, r * V)) same++;
  out.forward.quality[name] = { top1Agreement: same / (l.length / V), maxAbsLogitDiff: maxAbsDiff(l, reference) };
}
const mm = out.matmul512;
for (const [name, r] of Object.entries(runs)) {
  const limit = name.includes('web') ? mm.ortWeb.gflops : name.includes('2t') ? mm.ortNode2.gflops : name.includes('1t') ? mm.ortNode1.gflops : undefined;
  if (limit) r.fractionOfOrtMatMul = r.gflops / limit;
}

// 3. Per-token decode latency (batch 1).
const big = makeModel(decodeMaxLen);
const bigFiles = serializeCheckpoint({ model: big });
big.dispose();
const cachedBytes = exportCheckpointFiles(bigFiles, { kvCache: true });
const sharedBytes = exportCheckpointFiles(bigFiles, { kvCache: 'shared' });
const plainBytes = exportCheckpointFiles(bigFiles);
const seq = randomIds(12, decodeMaxLen);
const decodeFlops = (p) => 2 * params + 4 * L * p * d;
out.decode = {
  maxSeqLen: decodeMaxLen,
  batch: 1,
  // The work per token itself grows with the position (attention over p keys); the copying cache
  // graph also copies the whole cache into its present outputs each step (Concat), O(p) bytes,
  // which the in-place graph (the one generation runs on onnxruntime-node) does not.
  flopsPerToken: Object.fromEntries(positions.map((p) => [p, decodeFlops(p)])),
  flopsRatio512over32: decodeFlops(512) / decodeFlops(32),
  threads: {},
};
for (const threads of [1, 2]) {
  const cached = await createOnnxModel(cachedBytes, { numThreads: threads });
  const shared = await createOnnxModel(sharedBytes, { numThreads: threads });
  const plain = await createOnnxModel(plainBytes, { numThreads: threads });
  const r = { cachedMsPerToken: {}, inPlaceMsPerToken: {}, uncachedMsPerToken: {} };
  const shape = { numHeads: baby.numHeads, headDim: d / baby.numHeads, numLayers: L, maxSeqLen: decodeMaxLen };
  for (const p of positions) {
    r.cachedMsPerToken[p] = (await time(await positionStep(cached, seq, p, false, shape), { warmup: 5, minReps: 30, minMs: 1500 })).ms;
    r.inPlaceMsPerToken[p] = (await time(await positionStep(shared, seq, p, true, shape), { warmup: 5, minReps: 30, minMs: 1500 })).ms;
  }
  const p = 512;
  const full = { inputIds: { data: seq.subarray(0, p + 1), batchSize: 1, seqLen: p + 1 } };
  r.uncachedMsPerToken[p] = (await time(() => plain.run(full), { warmup: 2, minReps: 5, minMs: 2000 })).ms;
  await cached.release();
  await shared.release();
  await plain.release();
  out.decode.threads[threads] = r;
}

// 3b. fp32 vs integer MatMuls on a GPT-2-shaped model (12 layers, d 768, 12 heads, vocab 50257,
// tied head; random weights), batch 1 × 128, one thread, interleaved. Skipped with --quick or --no-gpt2.
if (!quick && !process.argv.includes('--no-gpt2')) {
  const config = createModelConfig({ preset: 'decoder-lm', vocabSize: 50257, dModel: 768, numHeads: 12, numDecoderLayers: 12, dFf: 3072, maxSeqLen: 1024, dropout: 0, positional: 'learned', activation: 'gelu_new' });
  const g2 = new TransformerModel(config, { seed: 2 });
  const g2Files = serializeCheckpoint({ model: g2 });
  g2.dispose();
  const graphs = { fp32: exportCheckpointFiles(g2Files) };
  graphs['int8-dynamic'] = quantizeMatMuls(graphs.fp32, 'int8-dynamic');
  graphs.int4 = quantizeMatMuls(graphs.fp32, 'int4');
  const T2 = 128;
  const g2Feeds = { input_ids: new ortNode.Tensor('int64', BigInt64Array.from(randomIds(31, T2), BigInt), [1, T2]), attention_mask: new ortNode.Tensor('int64', new BigInt64Array(T2).fill(1n), [1, T2]) };
  const sessions = {};
  const g2Logits = {};
  for (const [name, bytes] of Object.entries(graphs)) {
    sessions[name] = await ortNode.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1, logSeverityLevel: 3 });
    g2Logits[name] = (await sessions[name].run(g2Feeds)).logits.data;
  }
  const samples = Object.fromEntries(Object.keys(graphs).map((n) => [n, []]));
  for (let r = 0; r < 5; r++) {
    for (const [name, session] of Object.entries(sessions)) {
      const c = cpuMs();
      await session.run(g2Feeds);
      samples[name].push(cpuMs() - c);
    }
  }
  const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
  out.gpt2 = { model: '12 × 768, 12 heads, vocab 50257, tied, random weights', shape: `1x${T2}`, runs: {} };
  for (const [name, session] of Object.entries(sessions)) {
    const V = 50257;
    let same = 0;
    for (let t = 0; t < T2; t++) {
      let a = 0;
      let b = 0;
      for (let i = 1; i < V; i++) {
        if (g2Logits[name][t * V + i] > g2Logits[name][t * V + a]) a = i;
        if (g2Logits.fp32[t * V + i] > g2Logits.fp32[t * V + b]) b = i;
      }
      if (a === b) same++;
    }
    out.gpt2.runs[name] = { cpuMs: median(samples[name]), bytes: graphs[name].length, top1Agreement: same / T2, maxAbsLogitDiff: maxAbsDiff(g2Logits[name], g2Logits.fp32) };
    await session.release();
  }
}

// 4. Targets.
const t = out.decode.threads[1];
out.targets = {
  'ORT-node forward ≥ 10× tfjs-wasm (2 threads)': { value: runs['tfjs-wasm'].msPerBatch / runs['ort-node-2t fp32'].msPerBatch, target: 10 },
  'ORT-node forward ≥ 10× tfjs-wasm (1 thread)': { value: runs['tfjs-wasm'].msPerBatch / runs['ort-node-1t fp32'].msPerBatch, target: 10 },
  'batched forward ≥ 50% of ORT MatMul GFLOP/s (1 thread)': { value: runs['ort-node-1t fp32'].fractionOfOrtMatMul, target: 0.5 },
  'batched forward ≥ 50% of ORT MatMul GFLOP/s (2 threads)': { value: runs['ort-node-2t fp32'].fractionOfOrtMatMul, target: 0.5 },
  'per-token at 512 ≤ 1.3× at 32 (1 thread, in place)': { value: t.inPlaceMsPerToken[512] / t.inPlaceMsPerToken[32], target: 1.3, atMost: true },
  'cached ≥ 5× uncached at 512 (1 thread, in place)': { value: t.uncachedMsPerToken[512] / t.inPlaceMsPerToken[512], target: 5 },
  'int8-dynamic forward ≥ 1.3× fp32 (1 thread)': { value: runs['ort-node-1t fp32'].msPerBatch / runs['ort-node-1t int8-dynamic'].msPerBatch, target: 1.3 },
  'int4 forward ≥ 1.3× fp32 (1 thread)': { value: runs['ort-node-1t fp32'].msPerBatch / runs['ort-node-1t int4'].msPerBatch, target: 1.3 },
  ...(out.gpt2 ? {
    'GPT-2 shape: int8-dynamic ≥ 1.3× fp32 (CPU, 1 thread)': { value: out.gpt2.runs.fp32.cpuMs / out.gpt2.runs['int8-dynamic'].cpuMs, target: 1.3 },
    'GPT-2 shape: int4 ≥ 1.3× fp32 (CPU, 1 thread)': { value: out.gpt2.runs.fp32.cpuMs / out.gpt2.runs.int4.cpuMs, target: 1.3 },
  } : {}),
  ...Object.fromEntries(Object.entries(out.exportGraph.shapes).filter(([, r]) => r.torchOverOptimizedCpu).map(([shape, r]) => [`optimized export graph ≥ 1.3× torch.onnx graph, ${shape} (CPU, 1 thread)`, { value: r.torchOverOptimizedCpu, target: 1.3 }])),
};
for (const v of Object.values(out.targets)) v.met = v.atMost ? v.value <= v.target : v.value >= v.target;
out.loadAverageAtEnd = loadavg();
// Another process was using the CPUs if the 1-minute load was above 1 before we started, or above 2.5 at the end (this benchmark
// itself accounts for 1–2 of it).
out.machineBusy = out.loadAverageAtStart[0] > 1 || out.loadAverageAtEnd[0] > 2.5;
out.seconds = (performance.now() - started) / 1000;

// ---- print -------------------------------------------------------------------------------------

const pad = (s, n) => String(s).padEnd(n);
const num = (x, digits = 2) => x.toFixed(digits).padStart(9);
line();
line(`Batched forward, baby GPT (${params.toLocaleString('en')} params), batch ${B} × ${T} tokens = ${(batchFlops / 1e9).toFixed(2)} GFLOP`);
line(`${pad('runtime', 20)}${'ms/batch'.padStart(9)}${'tokens/s'.padStart(10)}${'GFLOP/s'.padStart(9)}${'%MatMul'.padStart(9)}${'vs tfjs'.padStart(9)}`);
for (const [name, r] of Object.entries(runs)) {
  const frac = r.fractionOfOrtMatMul === undefined ? '        -' : num(100 * r.fractionOfOrtMatMul, 1);
  line(`${pad(name, 20)}${num(r.msPerBatch)}${r.tokensPerSecond.toFixed(0).padStart(10)}${num(r.gflops, 1)}${frac}${num(runs['tfjs-wasm'].msPerBatch / r.msPerBatch, 1)}×`);
}
line(`ONNX size: fp32 ${(fp32.length / 1e6).toFixed(2)} MB, int8 ${(int8.length / 1e6).toFixed(2)} MB (${(fp32.length / int8.length).toFixed(2)}× smaller), int8-dynamic ${(int8Dynamic.length / 1e6).toFixed(2)} MB (${(fp32.length / int8Dynamic.length).toFixed(2)}×), int4 ${(int4.length / 1e6).toFixed(2)} MB (${(fp32.length / int4.length).toFixed(2)}×)`);
for (const [name, q] of Object.entries(out.forward.quality)) line(`  ${pad(name, 26)} vs fp32: top-1 agreement ${(100 * q.top1Agreement).toFixed(1)}%, max |Δlogit| ${q.maxAbsLogitDiff.toExponential(2)}, speed ${(runs['ort-node-1t fp32'].msPerBatch / runs[name].msPerBatch).toFixed(2)}×`);
line();
line(`Per-token decode latency, batch 1, maxSeqLen ${decodeMaxLen} (ms/token)`);
line(`${pad('threads', 10)}${pad('cache', 10)}${positions.map((p) => `@${p}`.padStart(9)).join('')}${'no cache@512'.padStart(14)}${'512/32'.padStart(8)}${'speed-up'.padStart(10)}`);
for (const [threads, r] of Object.entries(out.decode.threads)) {
  for (const [cache, ms] of [['copying', r.cachedMsPerToken], ['in place', r.inPlaceMsPerToken]]) {
    line(`${pad(threads, 10)}${pad(cache, 10)}${positions.map((p) => ms[p].toFixed(3).padStart(9)).join('')}${r.uncachedMsPerToken[512].toFixed(2).padStart(14)}${(ms[512] / ms[32]).toFixed(2).padStart(8)}${(r.uncachedMsPerToken[512] / ms[512]).toFixed(1).padStart(9)}×`);
  }
}
line(`(FLOPs per token at 512 are ${out.decode.flopsRatio512over32.toFixed(2)}× those at 32 for this model, before the copying graph's O(p) cache copy)`);
if (out.gpt2) {
  line();
  line(`GPT-2-shaped model (${out.gpt2.model}), ${out.gpt2.shape}, 1 thread, CPU ms (median of 5 interleaved)`);
  for (const [name, r] of Object.entries(out.gpt2.runs)) {
    line(`  ${pad(name, 14)}${num(r.cpuMs, 1)} ms ${(r.bytes / 1e6).toFixed(0).padStart(6)} MB  speed ${(out.gpt2.runs.fp32.cpuMs / r.cpuMs).toFixed(2)}×  top-1 vs fp32 ${(100 * r.top1Agreement).toFixed(1)}%  max |Δlogit| ${r.maxAbsLogitDiff.toExponential(2)}`);
  }
}
line();
line('Targets (issues 4 and 19)');
for (const [name, v] of Object.entries(out.targets)) line(`  ${v.met ? 'met ' : 'MISS'} ${pad(name, 58)} ${v.value.toFixed(2)} (${v.atMost ? '≤' : '≥'} ${v.target})`);
if (out.machineBusy) line('NOTE: other processes were using the CPUs (load average above); 2-thread figures suffer most.');
line(`load average ${out.loadAverageAtStart.map((x) => x.toFixed(2)).join(' ')} → ${out.loadAverageAtEnd.map((x) => x.toFixed(2)).join(' ')}; ${out.seconds.toFixed(0)} s`);

const dir = join(repoRoot, 'bench/results');
mkdirSync(dir, { recursive: true });
const file = join(dir, 'infer.json');
writeFileSync(file, JSON.stringify(out, null, 2) + '\n');
line(`wrote ${file}`);
