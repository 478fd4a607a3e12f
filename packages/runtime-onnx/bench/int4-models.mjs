#!/usr/bin/env node
// fp32 vs int8-dynamic vs MatMulNBits variants on whole models, 1 thread: the baby GPT's batched forward (12 × 64) and the GPT-2-shaped model's (1 × 128), and each one's decode step (batch 1, the in-place cache graph, at position 128), CPU ms per call (interleaved medians) with top-1 agreement and max |Δlogit| against fp32.
//   node packages/runtime-onnx/bench/int4-models.mjs [--only baby|gpt2] [--rounds 7] [--json FILE]
// Then ONNX Runtime's own kernel time per forward by op type (its profiler, per-node medians) for
// fp32 and the default int4: where the time goes. Random weights (seed 1 / 2); the graphs are exportCheckpointFiles' plain forward graph and its
// kvCache 'shared' graph (what generation runs on onnxruntime-node), quantized by quantize-matmul.ts.

import * as ort from 'onnxruntime-node';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createModelConfig, createRng } from '@attend/core';
import { serializeCheckpoint, setupBackend, TransformerModel } from '@attend/transformer';
import { createOnnxModel } from '../dist/node.js';
import { exportCheckpointFiles } from '../dist/export.js';
import { quantizeMatMuls } from '../dist/quantize-matmul.js';
import { kernelTimes } from './kernel-times.mjs';
import { positionStep } from './position-step.mjs';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : process.argv[i + 1];
};
const only = arg('only', undefined);
const rounds = Number(arg('rounds', '7'));
const jsonFile = arg('json', undefined);

const MODELS = {
  baby: { config: { vocabSize: 69, dModel: 128, numHeads: 4, numDecoderLayers: 4, dFf: 512, maxSeqLen: 520 }, seed: 1, batch: 12, seqLen: 64 },
  gpt2: { config: { vocabSize: 50257, dModel: 768, numHeads: 12, numDecoderLayers: 12, dFf: 3072, maxSeqLen: 1024, positional: 'learned', activation: 'gelu_new' }, seed: 2, batch: 1, seqLen: 128 },
};
const POSITION = 128;

const VARIANTS = {
  fp32: (b) => b,
  'int8-dynamic': (b) => quantizeMatMuls(b, 'int8-dynamic'),
  'int8-dynamic, fp32 head': (b) => quantizeMatMuls(b, 'int8-dynamic', { tiedHead: false }),
  'int4 b32 a4': (b) => quantizeMatMuls(b, 'int4'),
  'int4 b32 a4, fp32 head': (b) => quantizeMatMuls(b, 'int4', { tiedHead: false }),
  'int4 b128 a4': (b) => quantizeMatMuls(b, 'int4', { int4: { blockSize: 128 } }),
  'int4 b32 a0': (b) => quantizeMatMuls(b, 'int4', { int4: { accuracyLevel: 0 } }),
};

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Top-1 agreement and max |Δ| of logits `l` against `ref` (rows of `V`). */
function quality(l, ref, V) {
  let same = 0;
  let diff = 0;
  for (let r = 0; r < ref.length / V; r++) {
    let a = 0;
    let b = 0;
    for (let i = 1; i < V; i++) {
      if (l[r * V + i] > l[r * V + a]) a = i;
      if (ref[r * V + i] > ref[r * V + b]) b = i;
    }
    if (a === b) same++;
  }
  for (let i = 0; i < ref.length; i++) diff = Math.max(diff, Math.abs(l[i] - ref[i]));
  return { top1: same / (ref.length / V), maxAbsLogitDiff: diff };
}

/** Interleaved timing of `runs` ({ name: () => Promise }): CPU ms per call, median of `rounds` samples of ≥ `minMs` each. */
async function interleaved(runs, minMs) {
  const calls = {};
  for (const [name, run] of Object.entries(runs)) {
    await run();
    const c = cpuMs();
    await run();
    calls[name] = Math.max(1, Math.ceil(minMs / Math.max(0.01, cpuMs() - c)));
  }
  const samples = Object.fromEntries(Object.keys(runs).map((n) => [n, []]));
  for (let r = 0; r < rounds; r++) {
    for (const [name, run] of Object.entries(runs)) {
      const c = cpuMs();
      for (let i = 0; i < calls[name]; i++) await run();
      samples[name].push((cpuMs() - c) / calls[name]);
    }
  }
  return Object.fromEntries(Object.entries(samples).map(([n, s]) => [n, median(s)]));
}

/** Kernel ms per forward of `bytes` by op type: ONNX Runtime's profiler, each node's median over `runs` runs, summed by op. */
async function kernelTimeByOp(bytes, ids, batch, seqLen, runs = 7) {
  const dir = mkdtempSync(join(tmpdir(), 'attend-int4-profile-'));
  try {
    const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1, logSeverityLevel: 3, enableProfiling: true, profileFilePrefix: join(dir, 'p') });
    const feeds = { input_ids: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [batch, seqLen]), attention_mask: new ort.Tensor('int64', new BigInt64Array(batch * seqLen).fill(1n), [batch, seqLen]) };
    for (let i = 0; i < runs; i++) await session.run(feeds);
    session.endProfiling();
    await session.release();
    return kernelTimes(JSON.parse(readFileSync(join(dir, readdirSync(dir)[0]), 'utf8'))).byOp;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await setupBackend(['wasm']);
const load0 = loadavg();
const result = { date: new Date().toISOString(), loadAverageAtStart: load0, rounds, position: POSITION, models: {} };
console.log(`whole models, onnxruntime-node, 1 thread, CPU ms per call (median of ${rounds} interleaved rounds); load ${load0.map((v) => v.toFixed(2)).join(' ')}`);
for (const [name, m] of Object.entries(MODELS)) {
  if (only && only !== name) continue;
  const model = new TransformerModel(createModelConfig({ preset: 'decoder-lm', dropout: 0, ...m.config }), { seed: m.seed });
  const files = serializeCheckpoint({ model });
  model.dispose();
  const V = m.config.vocabSize;
  const rng = createRng(31);
  const seq = Int32Array.from({ length: Math.max(m.batch * m.seqLen, POSITION + 1) }, () => 1 + Math.floor(rng.next() * (V - 1)));
  const out = { forward: {}, decode: {}, bytes: {} };

  // Batched forward.
  const plain = exportCheckpointFiles(files);
  const feeds = { inputIds: { data: seq.subarray(0, m.batch * m.seqLen), batchSize: m.batch, seqLen: m.seqLen } };
  const sessions = {};
  const logits = {};
  for (const [variant, quantize] of Object.entries(VARIANTS)) {
    const bytes = quantize(plain);
    out.bytes[variant] = bytes.length;
    sessions[variant] = await createOnnxModel(bytes, { numThreads: 1 });
    logits[variant] = (await sessions[variant].run(feeds)).logits.data;
  }
  const forwardMs = await interleaved(Object.fromEntries(Object.entries(sessions).map(([v, s]) => [v, () => s.run(feeds)])), 20);
  for (const [variant, s] of Object.entries(sessions)) {
    out.forward[variant] = { cpuMs: forwardMs[variant], speed: forwardMs.fp32 / forwardMs[variant], ...quality(logits[variant], logits.fp32, V) };
    await s.release();
  }

  // Where the forward's time goes: kernel ms by op type.
  out.kernelMsByOp = {};
  for (const variant of ['fp32', 'int4 b32 a4']) out.kernelMsByOp[variant] = await kernelTimeByOp(VARIANTS[variant](plain), feeds.inputIds.data, m.batch, m.seqLen);

  // Decode step at POSITION, in-place cache graph.
  const shared = exportCheckpointFiles(files, { kvCache: 'shared' });
  const shape = { numHeads: m.config.numHeads, headDim: m.config.dModel / m.config.numHeads, numLayers: m.config.numDecoderLayers, maxSeqLen: m.config.maxSeqLen };
  const steps = {};
  const stepLogits = {};
  for (const [variant, quantize] of Object.entries(VARIANTS)) {
    sessions[variant] = await createOnnxModel(quantize(shared), { numThreads: 1 });
    steps[variant] = await positionStep(sessions[variant], seq, POSITION, true, shape);
    stepLogits[variant] = (await steps[variant]()).logits.data;
  }
  const decodeMs = await interleaved(steps, 20);
  for (const [variant, s] of Object.entries(sessions)) {
    out.decode[variant] = { cpuMs: decodeMs[variant], speed: decodeMs.fp32 / decodeMs[variant], ...quality(stepLogits[variant], stepLogits.fp32, V) };
    await s.release();
  }
  result.models[name] = out;

  console.log(`\n${name} (${JSON.stringify(m.config)}), forward ${m.batch} × ${m.seqLen} and decode step at ${POSITION}`);
  console.log('| variant | MB | forward ms | × fp32 | top-1 | max Δlogit | step ms | × fp32 | step max Δlogit |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const variant of Object.keys(VARIANTS)) {
    const f = out.forward[variant];
    const d = out.decode[variant];
    console.log(`| ${variant} | ${(out.bytes[variant] / 1e6).toFixed(1)} | ${f.cpuMs.toFixed(2)} | ${f.speed.toFixed(2)} | ${(100 * f.top1).toFixed(1)}% | ${f.maxAbsLogitDiff.toExponential(2)} | ${d.cpuMs.toFixed(3)} | ${d.speed.toFixed(2)} | ${d.maxAbsLogitDiff.toExponential(2)} |`);
  }
  console.log('forward kernel ms by op (ONNX Runtime profiler):');
  for (const [variant, byOp] of Object.entries(out.kernelMsByOp)) {
    const total = Object.values(byOp).reduce((a, b) => a + b, 0);
    console.log(`  ${variant}: total ${total.toFixed(2)}; ${Object.entries(byOp).map(([op, ms]) => `${op} ${ms.toFixed(2)}`).join(', ')}`);
  }
}
result.loadAverageAtEnd = loadavg();
console.log(`\nload ${load0.map((v) => v.toFixed(2)).join(' ')} → ${result.loadAverageAtEnd.map((v) => v.toFixed(2)).join(' ')}`);
if (jsonFile) writeFileSync(jsonFile, JSON.stringify(result, null, 1) + '\n');
